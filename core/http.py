"""ModelClient: the one client for OpenAI-compatible expert servers (vLLM, transformers serve).

The expert or LoRA adapter is chosen by the request's ``model`` field. Images travel as PNG
data URLs after resizing within a pixel budget. Transport faults become one-line
``ToolServerError``/``ToolTimeout``; a reply that is not the expected JSON is a
``ModelOutputError``.
"""

from __future__ import annotations

import base64
import io
import logging
import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
import numpy as np
from PIL import Image
from pydantic import BaseModel

from core.errors import ModelOutputError, ToolServerError, ToolTimeout, excerpt

__all__ = ["ChatReply", "ModelClient", "encode_image", "shrink"]

logger = logging.getLogger(__name__)


class ChatReply(BaseModel):
    """The text a model answered and what the exchange cost."""

    text: str
    model: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    seconds: float
    attempts: int
    image_sizes: list[tuple[int, int]]


def shrink(rgb: np.ndarray, max_pixels: int) -> Image.Image:
    """``rgb`` as a PIL image shrunk (aspect kept) to at most ``max_pixels`` pixels."""
    image = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))
    w, h = image.size
    if w * h > max_pixels:
        scale = math.sqrt(max_pixels / (w * h))
        image = image.resize(
            (max(1, int(w * scale)), max(1, int(h * scale))), Image.Resampling.LANCZOS
        )
    return image


def encode_image(rgb: np.ndarray, max_pixels: int) -> tuple[str, tuple[int, int]]:
    """PNG data URL of ``rgb`` shrunk (aspect kept) to at most ``max_pixels``; its (w, h)."""
    image = shrink(rgb, max_pixels)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return url, image.size


class ModelClient:
    """HTTP client bound to one server; thread-safe (httpx.Client is)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 60.0,
        retries: int = 2,
        backoff_s: float = 0.5,
        api_key: str | None = None,
        transport: httpx.BaseTransport | None = None,
        role: str = "expert server",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.who = f"{role} {self.base_url}"  # how errors name the server
        self._timeout_s = timeout_s
        self._retries = retries
        self._backoff_s = backoff_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            headers=headers,
            transport=transport,
        )

    def list_models(self) -> list[str]:
        """Ids the server lists at ``GET /models`` (vLLM lists the base model and LoRA adapters)."""
        body, _ = self._request("GET", "/models", None)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            msg = f"{self.who} sent a model list without 'data': "
            msg += excerpt(str(body))
            raise ModelOutputError(msg)
        return [str(m.get("id")) for m in data if isinstance(m, dict) and m.get("id")]

    def missing(self, wanted: Iterable[str]) -> list[str]:
        """The names in ``wanted`` that the server does not list."""
        listed = set(self.list_models())
        return [w for w in wanted if w not in listed]

    def chat(
        self,
        model: str,
        prompt: str,
        images: Sequence[np.ndarray] = (),
        *,
        max_image_pixels: int = 1024 * 1024,
        max_tokens: int = 512,
        temperature: float = 0.0,
        system: str | None = None,
    ) -> ChatReply:
        """Send one chat completion with ``images`` (RGB arrays) before the ``prompt``."""
        content: list[dict[str, Any]] = []
        sizes = []
        for rgb in images:
            url, size = encode_image(rgb, max_image_pixels)
            sizes.append(size)
            content.append({"type": "image_url", "image_url": {"url": url}})
        content.append({"type": "text", "text": prompt})
        messages: list[dict[str, Any]] = [{"role": "user", "content": content}]
        if system:
            messages.insert(0, {"role": "system", "content": system})
        payload = {
            "model": model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": False,
        }
        started = time.perf_counter()
        body, attempts = self._request("POST", "/chat/completions", payload)
        return _reply(body, model, time.perf_counter() - started, attempts, sizes, self.who)

    def chat_messages(
        self,
        model: str,
        messages: Sequence[dict[str, str]],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> ChatReply:
        """Send one text-only chat completion of ``messages`` (role/content dicts) as given."""
        payload = {
            "model": model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": False,
        }
        started = time.perf_counter()
        body, attempts = self._request("POST", "/chat/completions", payload)
        return _reply(body, model, time.perf_counter() - started, attempts, [], self.who)

    def chat_tools(
        self,
        model: str,
        messages: Sequence[dict[str, Any]],
        tools: Sequence[dict[str, Any]],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> dict[str, Any]:
        """One non-streamed chat completion offering ``tools``; returns ``choices[0].message``.

        The message holds ``content`` and, where the server parsed one, ``tool_calls``.
        """
        payload = {
            "model": model,
            "messages": list(messages),
            "tools": list(tools),
            "tool_choice": "auto",
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": False,
        }
        body, _ = self._request("POST", "/chat/completions", payload)
        try:
            message = body["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            msg = f"{self.who} sent a completion without choices[0].message: "
            raise ModelOutputError(msg + excerpt(str(body))) from None
        if not isinstance(message, dict):
            msg = f"{self.who} sent a message that is not an object: "
            raise ModelOutputError(msg + excerpt(str(message)))
        return message

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _request(self, method: str, path: str, payload: Any) -> tuple[Any, int]:
        """Send with bounded retries on refused connections and 5xx; never retry a timeout."""
        last = ""
        for attempt in range(1, self._retries + 2):
            try:
                response = self._http.request(method, path, json=payload)
            except httpx.TimeoutException:
                msg = f"{self.who} did not answer within {self._timeout_s:g} s"
                raise ToolTimeout(msg) from None
            except httpx.TransportError as exc:
                last = f"unreachable ({type(exc).__name__}: {excerpt(str(exc), 60)})"
            else:
                if response.status_code < 400:
                    return _json(response, self.who), attempt
                detail = _error_detail(response)
                if response.status_code < 500:
                    msg = f"{self.who} refused the request (HTTP {response.status_code}): {detail}"
                    raise ToolServerError(msg)
                last = f"answered HTTP {response.status_code}: {detail}"
            logger.info("attempt %d to %s%s failed: %s", attempt, self.base_url, path, last)
            if attempt <= self._retries:
                time.sleep(self._backoff_s * attempt)
        msg = f"{self.who} {last} after {self._retries + 1} attempt(s)"
        raise ToolServerError(msg)


def _json(response: httpx.Response, who: str) -> Any:
    try:
        return response.json()
    except ValueError:
        msg = f"{who} sent malformed JSON: {excerpt(response.text)}"
        raise ModelOutputError(msg) from None


def _error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return excerpt(response.text or response.reason_phrase)
    if isinstance(body, dict):
        err = body.get("error", body.get("detail", body))
        if isinstance(err, dict):
            err = err.get("message", err)
        return excerpt(str(err))
    return excerpt(str(body))


def _reply(
    body: Any, model: str, seconds: float, attempts: int, sizes: list[tuple[int, int]], who: str
) -> ChatReply:
    try:
        choice = body["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        msg = f"{who} sent a completion without choices[0].message.content: "
        raise ModelOutputError(msg + excerpt(str(body))) from None
    usage = body.get("usage") or {}
    return ChatReply(
        text=text if isinstance(text, str) else "",
        model=str(body.get("model") or model),
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        seconds=round(seconds, 4),
        attempts=attempts,
        image_sizes=sizes,
    )
