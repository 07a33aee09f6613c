"""Plot an evaluation run as PNG files: scores per suite, latency per turn, confusion matrices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["confusion_plot_name", "task_scores", "write_confusion_plots", "write_plots"]

_SCORES = [
    ("routing_accuracy", "routing"),
    ("answer_accuracy", "answer keys"),
    ("verified_share", "verified"),
]


def write_plots(summary: dict[str, Any], records: list[dict[str, Any]], out: Path) -> list[Path]:
    """Write the run's plots: scores, latency, per-task scores and confusion matrices.

    ``tasks.png`` is written when a suite has classification or measured tasks; one
    ``confusion-<suite>-<task>.png`` per classification task.

    Returns:
        The paths written, scores and latency first.
    """
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
    data = [
        [r["timings"]["total_s"] for r in records if r.get("timings") and r["family"] == f]
        for f in families
    ]
    if families:
        ax.hist(data, bins=20, stacked=True, label=families)
        ax.legend(fontsize=7)
    ax.set_xlabel("seconds per turn")
    ax.set_ylabel("turns")
    fig.tight_layout()
    fig.savefig(paths[1], dpi=100)
    plt.close(fig)
    tasks = task_scores(summary)
    if tasks:
        paths.append(out / "tasks.png")
        fig, ax = plt.subplots(figsize=(6.4, 0.35 * len(tasks) + 1.2))
        names = [name for name, _ in tasks]
        ax.barh(range(len(tasks)), [v or 0.0 for _, v in tasks], color="tab:blue")
        ax.set_yticks(range(len(tasks)), names, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 1.05)
        ax.set_xlabel("score")
        for i, (_, value) in enumerate(tasks):
            ax.text(
                min(value or 0.0, 1.0) + 0.01,
                i,
                "–" if value is None else f"{value:.2f}",
                va="center",
                fontsize=7,
            )
        fig.tight_layout()
        fig.savefig(paths[-1], dpi=100)
        plt.close(fig)
    return paths + write_confusion_plots(summary, out)


def task_scores(summary: dict[str, Any]) -> list[tuple[str, float | None]]:
    """Each suite's per-task headline score: accuracy, AUC, F1 or Dice, named ``suite: task``."""
    rows: list[tuple[str, float | None]] = []
    for suite, block in summary["suites"].items():
        metrics = block["metrics"]
        for task, scores in sorted((metrics.get("classification") or {}).items()):
            rows.append((f"{suite}: {task} accuracy", scores.get("accuracy")))
            if scores.get("auc") is not None:
                rows.append((f"{suite}: {task} AUC", scores["auc"]))
        for task, measures in sorted((metrics.get("measures") or {}).items()):
            for name in ("f1", "dice"):
                if name in measures:
                    rows.append((f"{suite}: {task} {name}", measures[name]))
    return rows


def confusion_plot_name(suite: str, task: str) -> str:
    """File name of a suite's confusion-matrix plot for one classification task."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{suite}-{task}")
    return f"confusion-{safe}.png"


def write_confusion_plots(summary: dict[str, Any], out: Path) -> list[Path]:
    """One PNG per (suite, classification task): counts, rows truth, columns predicted."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    paths = []
    for suite, block in summary["suites"].items():
        for task, scores in (block["metrics"].get("classification") or {}).items():
            confusion = scores.get("confusion") or {}
            if not confusion:
                continue
            truths = sorted(confusion)
            preds = sorted({p for row in confusion.values() for p in row})
            labels = truths + [p for p in preds if p not in truths]
            counts = [[confusion.get(t, {}).get(p, 0) for p in labels] for t in labels]
            side = max(3.2, 0.55 * len(labels) + 2.2)
            fig, ax = plt.subplots(figsize=(side, side))
            image = ax.imshow(counts, cmap="Blues")
            top = max(max(row) for row in counts) or 1
            for i, row in enumerate(counts):
                for j, n in enumerate(row):
                    colour = "white" if n > top / 2 else "black"
                    ax.text(j, i, str(n), ha="center", va="center", color=colour, fontsize=8)
            ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=7)
            ax.set_yticks(range(len(labels)), labels, fontsize=7)
            ax.set_xlabel("predicted")
            ax.set_ylabel("truth")
            acc = scores.get("accuracy")
            acc_text = "" if acc is None else f", accuracy {acc:.3f}"
            ax.set_title(f"{suite}: {task}\n(n {scores.get('n')}{acc_text})", fontsize=8)
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
            fig.tight_layout()
            path = out / confusion_plot_name(suite, task)
            fig.savefig(path, dpi=100)
            plt.close(fig)
            paths.append(path)
    return paths
