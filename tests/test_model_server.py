"""Integration tests against a real `transformers serve` process hosting the tiny Qwen2.5-VL.

These pin down the server behaviour the expert client relies on: what `GET /v1/models` lists,
the shape of a chat completion with an image data URL, and the status of an unknown model.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.fixtures.model_server import ModelServer, start_model_server
from tests.fixtures.tiny_vlm import MAX_PIXELS, build_tiny_qwen25vl

logger = logging.getLogger(__name__)

pytestmark = pytest.mark.slow


def _rgb_image(size_px: int, seed: int = 0) -> Image.Image:
    """Return a seeded random RGB image of `size_px` × `size_px` px."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size_px, size_px, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def _png_data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _image_request(model: str, max_tokens: int = 16) -> dict[str, object]:
    """Return an OpenAI chat-completion body with a 224×224 PNG data URL and a text part."""
    content = [
        {"type": "image_url", "image_url": {"url": _png_data_url(_rgb_image(224))}},
        {"type": "text", "text": "Describe the tissue in this tile."},
    ]
    return {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "max_tokens": max_tokens,
        "temperature": 0,
    }


@pytest.fixture
def client(model_server: ModelServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=model_server.base_url, timeout=120.0, trust_env=False) as http:
        yield http


# ---- the tiny model in-process --------------------------------------------------------------


def test_tiny_vlm_generates_in_process(tiny_vlm_dir: Path) -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_vlm_dir)
    model = AutoModelForImageTextToText.from_pretrained(tiny_vlm_dir).eval()
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "image", "image": _rgb_image(224)},
                {"type": "text", "text": "Hi"},
            ],
        }
    ]
    inputs = processor.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )
    n_image_tokens = int((inputs["input_ids"] == model.config.image_token_id).sum())
    assert n_image_tokens == MAX_PIXELS // (28 * 28)  # 224×224 → 112×112 px → 8×8 patches → 16
    output = model.generate(**inputs, max_new_tokens=8, do_sample=False)
    assert output.shape[1] > inputs["input_ids"].shape[1]


def test_tiny_vlm_special_token_ids_match_config(tiny_vlm_dir: Path) -> None:
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(tiny_vlm_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_vlm_dir)
    ids = tokenizer.convert_tokens_to_ids
    assert config.image_token_id == ids("<|image_pad|>")
    assert config.video_token_id == ids("<|video_pad|>")
    assert config.vision_start_token_id == ids("<|vision_start|>")
    assert config.text_config.eos_token_id == ids("<|im_end|>") == tokenizer.eos_token_id
    assert config.text_config.pad_token_id == ids("<|endoftext|>") == tokenizer.pad_token_id
    assert len(tokenizer) <= config.text_config.vocab_size


def test_tiny_vlm_build_is_deterministic(tiny_vlm_dir: Path, tmp_path: Path) -> None:
    again = build_tiny_qwen25vl(tmp_path / "again")

    def digests(path: Path) -> dict[str, str]:
        return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in path.iterdir()}

    assert digests(again) == digests(tiny_vlm_dir)


# ---- the server -----------------------------------------------------------------------------


def test_models_lists_the_cached_model_before_any_request(
    client: httpx.Client, model_server: ModelServer
) -> None:
    response = client.get("/models")
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    assert [entry["id"] for entry in body["data"]] == [model_server.model]
    assert body["data"][0]["owned_by"] == "smartpath"


def test_chat_completion_with_image_data_url(
    client: httpx.Client, model_server: ModelServer
) -> None:
    started = time.perf_counter()
    response = client.post("/chat/completions", json=_image_request(model_server.model))
    elapsed_s = time.perf_counter() - started
    logger.info("image chat completion took %.2f s", elapsed_s)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == f"{model_server.model}@main"  # the server appends the revision
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str)
    assert choice["finish_reason"] in {"length", "stop"}
    usage = body["usage"]
    assert 1 <= usage["completion_tokens"] <= 16
    assert usage["prompt_tokens"] > 16  # the 16 image tokens plus the chat template
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert elapsed_s < 60


def test_greedy_completion_is_repeatable(client: httpx.Client, model_server: ModelServer) -> None:
    body = _image_request(model_server.model, max_tokens=8)
    first = client.post("/chat/completions", json=body).json()
    second = client.post("/chat/completions", json=body).json()
    assert first["choices"][0]["message"] == second["choices"][0]["message"]


def test_models_list_is_unchanged_after_a_request(
    client: httpx.Client, model_server: ModelServer
) -> None:
    client.post("/chat/completions", json=_image_request(model_server.model, max_tokens=1))
    ids = [entry["id"] for entry in client.get("/models").json()["data"]]
    assert ids == [model_server.model]


@pytest.mark.parametrize("model", ["nobody/no-such-model", "/no/such/local/dir"])
def test_unknown_model_is_a_plain_500(client: httpx.Client, model: str) -> None:
    response = client.post("/chat/completions", json=_image_request(model, max_tokens=1))
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Internal Server Error"


def test_unexpected_request_field_is_422(client: httpx.Client, model_server: ModelServer) -> None:
    body = {**_image_request(model_server.model, max_tokens=1), "not_an_openai_field": 1}
    response = client.post("/chat/completions", json=body)
    assert response.status_code == 422
    assert "not_an_openai_field" in response.json()["detail"]


def test_health(model_server: ModelServer) -> None:
    response = httpx.get(f"{model_server.root_url}/health", trust_env=False)
    assert response.json() == {"status": "ok"}


def test_pinned_server_rejects_other_models_with_400(
    tiny_vlm_hf_cache: Path, tmp_path: Path
) -> None:
    model = "smartpath/tiny-qwen25vl"
    with (
        start_model_server(
            tiny_vlm_hf_cache, model, tmp_path / "serve.log", force_model=True
        ) as server,
        httpx.Client(base_url=server.base_url, timeout=120.0, trust_env=False) as http,
    ):
        wrong = http.post("/chat/completions", json=_image_request("nobody/other", max_tokens=1))
        assert wrong.status_code == 400
        assert wrong.json()["detail"] == (
            f"Server is pinned to '{model}'; requested 'nobody/other'."
        )
        unnamed = _image_request(model, max_tokens=1)
        del unnamed["model"]
        assert http.post("/chat/completions", json=unnamed).status_code == 200
    assert server.process.returncode is not None
