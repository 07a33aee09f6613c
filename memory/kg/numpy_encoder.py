"""A BERT sentence encoder's forward pass in NumPy: all-MiniLM-L6-v2 without torch.

The planner embeds every request, and importing torch, transformers and sentence-transformers
takes seconds, far longer than encoding a sentence (a few milliseconds here). This module reads
the same folder (``tokenizer.json`` with the ``tokenizers`` package, ``model.safetensors``
mapped into memory, ``config.json``) and computes the same float32 vectors: BERT with absolute
positions and exact GELU, mean pooling over the tokens, unit length. It supports the folders
whose modules are a BERT transformer, mean pooling and, optionally, normalisation;
``NumpyEncoder.load`` returns None for any other, which then runs on sentence-transformers.
"""

from __future__ import annotations

import json
import logging
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["NumpyEncoder", "read_safetensors"]

logger = logging.getLogger(__name__)

_BATCH = 16
"""Texts per forward pass: small enough for its temporaries to stay in the CPU's cache."""
_MASKED = np.float32(np.finfo(np.float32).min)
"""What a padding position adds to the attention scores (transformers' extended mask)."""


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU as BERT's ``gelu`` computes it: ``x Φ(x)`` with erf, not the tanh approximation.

    erf by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7), computed in place on
    two buffers: large temporaries, not arithmetic, are what this costs.
    """
    z = np.abs(x) * np.float32(1.0 / math.sqrt(2.0))
    t = z * np.float32(0.3275911)
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * np.float32(1.061405429)
    for coef in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(coef)
        poly *= t
    np.multiply(z, z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z  # 1 - erf(|x| / √2)
    # 1 + erf(x / √2) is 2 - poly where x >= 0, poly where x < 0
    np.subtract(np.float32(2.0), poly, out=poly, where=x >= 0)
    poly *= x
    poly *= np.float32(0.5)
    return poly


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + eps) * weight + bias


_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a ``.safetensors`` file as read-only arrays mapped from the file.

    The format: an 8-byte little-endian header length, a JSON header naming each tensor's
    dtype, shape and byte range, then the data. Mapping, not reading, keeps the vocabulary's
    embedding table (half of the file) on disk except for the rows a text uses.

    Raises:
        ValueError: the file is not a safetensors file of the dtypes above.
    """
    with path.open("rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            msg = f"{path}: tensor {name} has dtype {info['dtype']}"
            raise ValueError(msg)
        start, end = info["data_offsets"]
        out[name] = data[start:end].view(dtype).reshape(info["shape"])
    return out


def _supported(folder: Path) -> str | None:
    """Why the folder is not a BERT + mean-pooling model this module computes, or None."""
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        if not (folder / name).is_file():
            return f"no {name}"
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if config.get("model_type") != "bert":
        return f"model_type {config.get('model_type')!r}"
    if config.get("hidden_act") != "gelu":
        return f"hidden_act {config.get('hidden_act')!r}"
    if config.get("position_embedding_type", "absolute") != "absolute":
        return "relative positions"
    modules_file = folder / "modules.json"
    if not modules_file.is_file():
        return "no modules.json"
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in json.loads(modules_file.read_text())]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        return f"modules {kinds}"
    pooling = next(m for m in json.loads(modules_file.read_text()) if m["type"].endswith("Pooling"))
    pool_conf = json.loads((folder / pooling["path"] / "config.json").read_text(encoding="utf-8"))
    modes = [k for k, v in pool_conf.items() if k.startswith("pooling_mode") and v is True]
    if modes != ["pooling_mode_mean_tokens"]:
        return f"pooling {modes}"
    return None


class NumpyEncoder:
    """Unit-length sentence vectors of a BERT + mean-pooling folder, computed with NumPy."""

    def __init__(self, folder: Path, max_seq_length: int) -> None:
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self._heads = int(config["num_attention_heads"])
        self._layers = int(config["num_hidden_layers"])
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_seq_length)
        weights = read_safetensors(folder / "model.safetensors")
        self._w = {k.removeprefix("bert."): v for k, v in weights.items()}

    @classmethod
    def load(cls, folder: Path, max_seq_length: int) -> NumpyEncoder | None:
        """The encoder for ``folder``, or None when it is not a model this module computes."""
        try:
            why = _supported(folder)
        except (OSError, ValueError, KeyError, StopIteration) as exc:
            why = f"{type(exc).__name__}: {exc}"
        if why is not None:
            logger.info("embedding model %s runs on sentence-transformers: %s", folder, why)
            return None
        return cls(folder, max_seq_length)

    def encode(self, texts: list[str]) -> np.ndarray:
        """``[len(texts), hidden]`` float32 unit vectors, in the order of ``texts``."""
        encodings = self._tokenizer.encode_batch([t.strip() for t in texts])
        out = np.zeros((len(texts), self._w["embeddings.word_embeddings.weight"].shape[1]))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), _BATCH):
            chunk = order[start : start + _BATCH]
            length = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.float32)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            out[chunk] = self._pooled(ids, mask)
        out = out.astype(np.float32)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def _pooled(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean of the last hidden states over the real tokens, ``[batch, hidden]``."""
        w = self._w
        length = ids.shape[1]
        h = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        h = _layer_norm(
            h, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self._eps
        )
        added = ((1.0 - mask) * _MASKED)[:, None, None, :]
        for layer in range(self._layers):
            h = self._layer(h, added, f"encoder.layer.{layer}.")
        summed = (h * mask[:, :, None]).sum(axis=1)
        return summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)

    def _layer(self, h: np.ndarray, added: np.ndarray, p: str) -> np.ndarray:
        """One encoder layer: self-attention, then the feed-forward block, each with LayerNorm."""
        w = self._w
        batch, length, hidden = h.shape
        size = hidden // self._heads

        def heads(x: np.ndarray) -> np.ndarray:
            return x.reshape(batch, length, self._heads, size).transpose(0, 2, 1, 3)

        q = heads(self._linear(h, p + "attention.self.query"))
        k = heads(self._linear(h, p + "attention.self.key"))
        v = heads(self._linear(h, p + "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(size)) + added
        scores -= scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        attended = _layer_norm(
            self._linear(context, p + "attention.output.dense") + h,
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
            self._eps,
        )
        inner = _gelu(self._linear(attended, p + "intermediate.dense"))
        return _layer_norm(
            self._linear(inner, p + "output.dense") + attended,
            w[p + "output.LayerNorm.weight"],
            w[p + "output.LayerNorm.bias"],
            self._eps,
        )

    def _linear(self, x: np.ndarray, name: str) -> Any:
        """``x @ weightᵀ + bias`` (torch's ``Linear``) as one product over the batch's tokens."""
        weight = self._w[name + ".weight"]  # (out, in)
        flat = x.reshape(-1, x.shape[-1]) @ weight.T + self._w[name + ".bias"]
        return flat.reshape(*x.shape[:-1], weight.shape[0])
