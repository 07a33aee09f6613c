"""Attention-MIL slide classifier: a timm tile encoder and a gated-attention head (Ilse 2018).

torch and timm are imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MilModel", "build_head", "load_mil", "save_head"]


def build_head(in_dim: int, hidden: int, n_classes: int) -> Any:
    """A gated-attention MIL head: tile features [N, in_dim] -> (logits [C], attention [N])."""
    import torch
    from torch import nn

    class GatedAttentionMIL(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.v = nn.Sequential(nn.Linear(in_dim, hidden), nn.Tanh())
            self.u = nn.Sequential(nn.Linear(in_dim, hidden), nn.Sigmoid())
            self.w = nn.Linear(hidden, 1)
            self.classifier = nn.Linear(in_dim, n_classes)

        def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            scores = self.w(self.v(feats) * self.u(feats)).squeeze(-1)
            attention = torch.softmax(scores, dim=0)
            pooled = (attention.unsqueeze(-1) * feats).sum(dim=0)
            return self.classifier(pooled), attention

    return GatedAttentionMIL()


def save_head(path: Path, head: Any, labels: list[str], in_dim: int, hidden: int) -> None:
    """Write a head checkpoint: its shape, its labels and its weights."""
    import torch

    torch.save(
        {"labels": labels, "in_dim": in_dim, "hidden": hidden, "state_dict": head.state_dict()},
        path,
    )


@dataclass
class MilModel:
    """A loaded encoder + head, ready for inference on CPU."""

    encoder: Any
    head: Any
    labels: list[str]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def predict(self, tiles: list[np.ndarray], batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities [C] and attention per tile [N] for RGB uint8 tiles."""
        import torch

        feats = []
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        with torch.inference_mode():
            for start in range(0, len(tiles), batch):
                x = torch.from_numpy(np.stack(tiles[start : start + batch])).permute(0, 3, 1, 2)
                x = (x.float() / 255.0 - mean) / std
                feats.append(self.encoder(x))
            logits, attention = self.head(torch.cat(feats))
            probs = torch.softmax(logits, dim=-1)
        return probs.numpy(), attention.numpy()


def load_mil(encoder_name: str, encoder_checkpoint: Path, head_checkpoint: Path) -> MilModel:
    """Load a timm encoder (no classifier) and a MIL head from local files only.

    Raises:
        FileNotFoundError: a checkpoint does not exist.
        ValueError: the encoder checkpoint lacks weights, or the head's input size does not
            match the encoder's features.
    """
    import timm
    import torch

    for path in (encoder_checkpoint, head_checkpoint):
        if not path.is_file():
            raise FileNotFoundError(path)
    encoder = timm.create_model(encoder_name, pretrained=False, num_classes=0)
    state = torch.load(encoder_checkpoint, map_location="cpu", weights_only=True)
    result = encoder.load_state_dict(state.get("state_dict", state), strict=False)
    if result.missing_keys:  # extra keys (a classifier) are fine; missing ones are not
        msg = f"encoder checkpoint lacks {len(result.missing_keys)} weight(s) of {encoder_name}"
        raise ValueError(msg)
    encoder.eval()
    saved = torch.load(head_checkpoint, map_location="cpu", weights_only=True)
    if saved["in_dim"] != encoder.num_features:
        msg = f"head expects {saved['in_dim']} features, encoder gives {encoder.num_features}"
        raise ValueError(msg)
    head = build_head(saved["in_dim"], saved["hidden"], len(saved["labels"]))
    head.load_state_dict(saved["state_dict"])
    head.eval()
    cfg = encoder.pretrained_cfg or {}
    return MilModel(
        encoder=encoder,
        head=head,
        labels=list(saved["labels"]),
        mean=tuple(cfg.get("mean", (0.485, 0.456, 0.406))),
        std=tuple(cfg.get("std", (0.229, 0.224, 0.225))),
    )
