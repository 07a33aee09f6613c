"""LocalVLM: one base vision-language model in-process with named LoRA adapters (peft).

The adapter is switched per call, as vLLM switches it per request. torch, transformers and
peft are imported when the model is first used.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.http import ChatReply, shrink

__all__ = ["LocalVLM"]


class LocalVLM:
    """A base model directory plus ``{adapter name: adapter directory}``, loaded lazily."""

    def __init__(self, base_dir: Path, adapters: dict[str, Path]) -> None:
        self.base_dir = base_dir
        self.adapters = dict(adapters)
        self._lock = threading.Lock()
        self._model: Any = None
        self._processor: Any = None

    def chat(
        self,
        adapter: str | None,
        prompt: str,
        images: Sequence[np.ndarray] = (),
        *,
        max_image_pixels: int = 1024 * 1024,
        max_tokens: int = 512,
    ) -> ChatReply:
        """Greedy generation with ``adapter`` active (None: the base model alone)."""
        import torch

        started = time.perf_counter()
        pictures = [shrink(rgb, max_image_pixels) for rgb in images]
        with self._lock:
            model, processor = self._load()
            content = [{"type": "image"} for _ in pictures] + [{"type": "text", "text": prompt}]
            text = processor.apply_chat_template(
                [{"role": "user", "content": content}], add_generation_prompt=True
            )
            inputs = processor(text=[text], images=pictures or None, return_tensors="pt")
            with torch.inference_mode():
                if adapter is None:
                    with model.disable_adapter():
                        out = model.generate(**inputs, max_new_tokens=max_tokens, do_sample=False)
                else:
                    model.set_adapter(adapter)
                    out = model.generate(**inputs, max_new_tokens=max_tokens, do_sample=False)
        new = out[:, inputs["input_ids"].shape[1] :]
        answer = processor.batch_decode(new, skip_special_tokens=True)[0]
        return ChatReply(
            text=answer,
            model=adapter or str(self.base_dir),
            finish_reason="length" if new.shape[1] >= max_tokens else "stop",
            prompt_tokens=int(inputs["input_ids"].shape[1]),
            completion_tokens=int(new.shape[1]),
            seconds=round(time.perf_counter() - started, 4),
            attempts=1,
            image_sizes=[p.size for p in pictures],
        )

    def _load(self) -> tuple[Any, Any]:
        if self._model is None:
            from peft import PeftModel
            from transformers import AutoModelForImageTextToText, AutoProcessor
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            processor = AutoProcessor.from_pretrained(self.base_dir, local_files_only=True)
            model = AutoModelForImageTextToText.from_pretrained(
                self.base_dir, local_files_only=True
            )
            names = list(self.adapters)
            if names:
                model = PeftModel.from_pretrained(
                    model, self.adapters[names[0]], adapter_name=names[0]
                )
                for name in names[1:]:
                    model.load_adapter(self.adapters[name], adapter_name=name)
            model.eval()
            self._model, self._processor = model, processor
        return self._model, self._processor
