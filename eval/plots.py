"""Plot an evaluation run as PNG files: scores per suite and latency per turn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_plots"]

_SCORES = [
    ("routing_accuracy", "routing"),
    ("answer_accuracy", "answer keys"),
    ("verified_share", "verified"),
]


def write_plots(summary: dict[str, Any], records: list[dict[str, Any]], out: Path) -> list[Path]:
    """Write ``scores.png`` and ``latency.png`` into ``out``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    paths = [out / "scores.png", out / "latency.png"]
    suites = list(summary["suites"])
    fig, ax = plt.subplots(figsize=(max(4.0, 1.6 * len(suites) + 2), 3.2))
    width = 0.8 / len(_SCORES)
    for i, (key, label) in enumerate(_SCORES):
        values = [summary["suites"][s]["metrics"].get(key) or 0.0 for s in suites]
        ax.bar([x + i * width for x in range(len(suites))], values, width, label=label)
    ax.set_xticks([x + width for x in range(len(suites))], suites, fontsize=8)
    ax.set_ylim(0, 1.25)
    ax.set_ylabel("share")
    ax.legend(fontsize=7, loc="upper center", ncol=len(_SCORES))
    fig.tight_layout()
    fig.savefig(paths[0], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.2))
    families = sorted({r["family"] for r in records if r.get("timings")})
    data = [[r["timings"]["total_s"] for r in records if r.get("timings") and r["family"] == f]
            for f in families]  # fmt: skip
    if families:
        ax.hist(data, bins=20, stacked=True, label=families)
        ax.legend(fontsize=7)
    ax.set_xlabel("seconds per turn")
    ax.set_ylabel("turns")
    fig.tight_layout()
    fig.savefig(paths[1], dpi=100)
    plt.close(fig)
    return paths
