"""ModelClient against injected faults (httpx.MockTransport) and real sockets on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import numpy as np
import pytest

from core.errors import ModelOutputError, ToolServerError, ToolTimeout
from core.http import ModelClient, encode_image

OK_BODY = {
    "model": "nuclei-lora",
    "choices": [
        {
            "message": {"content": '[{"bbox_2d": [1, 2, 30, 40], "label": "nucleus"}]'},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 80, "completion_tokens": 20},
}
IMAGE = np.full((600, 800, 3), 200, dtype=np.uint8)


def client_with(handler: Callable[[httpx.Request], httpx.Response], **kw: float) -> ModelClient:
    return ModelClient(
        "http://expert.test/v1", transport=httpx.MockTransport(handler), backoff_s=0.0, **kw
    )


def test_chat_sends_the_image_as_a_data_url_and_the_model_name() -> None:
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json=OK_BODY)

    reply = client_with(handler).chat(
        "nuclei-lora", "find nuclei", [IMAGE], max_image_pixels=120_000
    )
    body = seen[0]
    assert body["model"] == "nuclei-lora"
    part = body["messages"][0]["content"][0]
    assert part["image_url"]["url"].startswith("data:image/png;base64,")
    w, h = reply.image_sizes[0]
    assert w * h <= 120_000
    assert abs(w / h - 800 / 600) < 0.01
    assert reply.text.startswith('[{"bbox_2d"')
    assert (reply.prompt_tokens, reply.completion_tokens, reply.attempts) == (80, 20, 1)


def test_encode_keeps_small_images_as_they_are() -> None:
    url, size = encode_image(np.zeros((10, 20, 3), np.uint8), 10_000)
    assert size == (20, 10)
    assert url.startswith("data:image/png;base64,")


def test_5xx_is_retried_then_succeeds() -> None:
    calls = iter([500, 503, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        code = next(calls)
        return httpx.Response(code, json=OK_BODY if code == 200 else {"error": "busy"})

    assert client_with(handler, retries=2).chat("m", "q").attempts == 3


def test_5xx_after_the_retry_budget_is_a_server_error() -> None:
    attempts = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        return httpx.Response(500, json={"error": {"message": "CUDA out of memory"}})

    with pytest.raises(ToolServerError, match="HTTP 500: 'CUDA out of memory' after 3") as info:
        client_with(handler, retries=2).chat("m", "q")
    assert len(attempts) == 3
    assert "\n" not in str(info.value)


def test_unknown_model_is_refused_without_retry() -> None:
    attempts = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        return httpx.Response(404, json={"error": {"message": "The model `x` does not exist."}})

    with pytest.raises(ToolServerError, match=r"refused the request \(HTTP 404\)"):
        client_with(handler).chat("x", "q")
    assert len(attempts) == 1


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.Response(200, json={"choices": []}),
        httpx.Response(200, json={"object": "list"}),
    ],
)
def test_malformed_replies_are_model_output_errors(response: httpx.Response) -> None:
    with pytest.raises(ModelOutputError):
        client_with(lambda request: response).chat("m", "q")


def test_injected_timeout_is_not_retried() -> None:
    attempts = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        msg = "slow"
        raise httpx.ReadTimeout(msg, request=request)

    with pytest.raises(ToolTimeout, match="did not answer within 5 s"):
        client_with(handler, timeout_s=5).chat("m", "q")
    assert len(attempts) == 1


def test_model_list_and_missing_adapters() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/models"
        return httpx.Response(
            200,
            json={
                "object": "list",
                "data": [{"id": "Qwen/Qwen2.5-VL-7B-Instruct"}, {"id": "nuclei-lora"}],
            },
        )

    client = client_with(handler)
    assert client.missing(["nuclei-lora", "wsi-lora", "Qwen/Qwen2.5-VL-7B-Instruct"]) == [
        "wsi-lora"
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_on_a_real_port() -> None:
    client = ModelClient(
        f"http://127.0.0.1:{free_port()}/v1", retries=1, backoff_s=0.0, timeout_s=5
    )
    with pytest.raises(ToolServerError, match="unreachable.*after 2 attempt") as info:
        client.list_models()
    assert "\n" not in str(info.value)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A real TCP server on 127.0.0.1 that accepts and never answers (bounded: 10 s)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        server.settimeout(0.2)
        deadline = time.monotonic() + 10
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = server.accept()
                held.append(conn)
            except TimeoutError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_slow_server_timeout_is_honoured(silent_server: str) -> None:
    client = ModelClient(silent_server, timeout_s=0.5, retries=2)
    started = time.monotonic()
    with pytest.raises(ToolTimeout):
        client.chat("m", "q", [IMAGE])
    assert time.monotonic() - started < 5.0  # the 0.5 s timeout cut the wait, once
