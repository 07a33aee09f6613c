"""Benchmark: CPU nuclei detection throughput, and the expert client's overhead per request.

In one run: megapixels/s of the CPU nuclei expert on real images; then a real
``transformers serve`` process hosting the tiny local Qwen2.5-VL (the test fixture's model,
built here) answers the same image request three ways: through ``ModelClient.chat`` (resize,
PNG encode, HTTP, parse), through a bare ``httpx.post`` of a pre-encoded payload (the server's
time plus loopback), and the encode step alone. The client's own overhead is the first minus
the second.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from benchmarks.timing import median_s  # noqa: E402
from core.http import ModelClient, encode_image  # noqa: E402
from tests.fixtures.model_server import (  # noqa: E402
    TINY_VLM_REPO_ID,
    install_in_hf_cache,
    start_model_server,
)
from tests.fixtures.tiny_vlm import build_tiny_qwen25vl  # noqa: E402
from tools.nuclei import detect_nuclei  # noqa: E402
from tools.slide import Slide  # noqa: E402
from tools.types import Box  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def bench_nuclei(data: Path, repeats: int) -> None:
    """Print megapixels/s of ``detect_nuclei`` on the HGSC image and a CMU region."""
    hgsc = np.asarray(Image.open(data / "histolytics_hgsc" / "hgsc_nest.jpg").convert("RGB"))
    with Slide.open(data / "wsi" / "CMU-1-Small-Region.svs") as slide:
        cmu = slide.read_region(
            Box(x0=72, y0=497, x1=1096, y1=1521), level=0, max_pixels=1 << 24
        ).image
    print(f"{'image':34}{'megapixels':>11}{'seconds':>9}{'Mpx/s':>8}{'nuclei':>8}")
    for name, rgb, mpp in [
        ("hgsc_nest.jpg (assumed 0.5 µm/px)", hgsc, 0.5),
        ("CMU-1 region 1024² (0.499 µm/px)", cmu, 0.499),
    ]:
        seconds = median_s(lambda rgb=rgb, mpp=mpp: detect_nuclei(rgb, mpp=mpp), repeats)
        count = len(detect_nuclei(rgb, mpp=mpp).nuclei)
        mpx = rgb.shape[0] * rgb.shape[1] / 1e6
        print(f"{name:34}{mpx:>11.2f}{seconds:>9.2f}{mpx / seconds:>8.2f}{count:>8}")


def bench_client(repeats: int, image_px: int) -> None:
    """Print the client's overhead per request against the server's time, one server."""
    rgb = np.random.default_rng(0).integers(0, 255, (image_px, image_px, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_dir = build_tiny_qwen25vl(root / "tiny")
        install_in_hf_cache(model_dir, root / "hf_cache", TINY_VLM_REPO_ID)
        with start_model_server(root / "hf_cache", TINY_VLM_REPO_ID, root / "serve.log") as srv:
            client = ModelClient(srv.base_url, timeout_s=120, retries=0)
            budget = 224 * 224
            url, _ = encode_image(rgb, budget)
            payload = {
                "model": srv.model,
                "max_tokens": 8,
                "temperature": 0.0,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": url}},
                            {"type": "text", "text": "Classify this tissue."},
                        ],
                    }
                ],
            }
            raw = httpx.Client(timeout=120)

            def bare() -> None:
                raw.post(f"{srv.base_url}/chat/completions", json=payload).raise_for_status()

            def ours() -> None:
                client.chat(
                    srv.model, "Classify this tissue.", [rgb], max_image_pixels=budget, max_tokens=8
                )

            t_server = median_s(bare, repeats)
            t_client = median_s(ours, repeats)
            t_encode = median_s(lambda: encode_image(rgb, budget), repeats)
            client.close()
            raw.close()
    print(
        f"request: {image_px}×{image_px} RGB resized to ≤224×224, 8 new tokens, median of {repeats}"
    )
    print(f"{'part':44}{'ms':>9}{'share':>8}")
    print(f"{'bare HTTP post (server compute + loopback)':44}{1e3 * t_server:>9.1f}{1.0:>8.2f}")
    print(f"{'ModelClient.chat (all of it)':44}{1e3 * t_client:>9.1f}{t_client / t_server:>8.2f}")
    print(
        f"{'client overhead (chat - bare post)':44}{1e3 * (t_client - t_server):>9.1f}"
        f"{(t_client - t_server) / t_server:>8.2f}"
    )
    print(
        f"{'  of which resize + PNG + base64':44}{1e3 * t_encode:>9.1f}{t_encode / t_server:>8.2f}"
    )


def main(argv: list[str] | None = None) -> None:
    """Run both benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--image-px", type=int, default=1024)
    args = parser.parse_args(argv)
    bench_nuclei(args.data, max(1, args.repeats // 2))
    print()
    bench_client(args.repeats * 4, args.image_px)


if __name__ == "__main__":
    main()
