"""Render an evaluation run's summary and records as a Markdown report readable on its own."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["render_markdown"]

_FAMILY_COLUMNS = [
    ("cases", "cases"),
    ("turns", "turns"),
    ("turns_failed", "failed turns"),
    ("routing_accuracy", "routing acc."),
    ("answer_accuracy", "answer keys passed"),
    ("verification_accuracy", "verification as required"),
    ("verified_share", "verified"),
    ("citation_precision", "citation P"),
    ("citation_recall", "citation R"),
    ("entity_dice", "entity Dice"),
    ("latency_mean_s", "mean s/turn"),
    ("latency_p95_s", "p95 s/turn"),
    ("tools_share", "time in tools"),
]


def render_markdown(
    summary: dict[str, Any], records: list[dict[str, Any]], images: Sequence[str] = ()
) -> str:
    """Return the report: settings, thresholds, plots, per-family tables, classes, failures.

    Args:
        summary: what ``eval.summary.summarise`` returned, with a ``run`` block.
        records: the run's turn records.
        images: PNG file names beside the report, shown after the thresholds.
    """
    lines = ["# SmartPath evaluation report", ""]
    lines += _run_block(summary.get("run", {}))
    verdict = "all thresholds met" if summary["passed"] else "**thresholds missed**"
    lines += [f"Result: {verdict}.", ""]
    if summary["thresholds"]:
        lines += ["| suite | metric | bound | limit | value | met |", "|---|---|---|---|---|---|"]
        for t in summary["thresholds"]:
            met = "yes" if t["ok"] else "**no**"
            lines.append(
                f"| {t['suite']} | {t['metric']} | {t['bound']} | {t['limit']:g} | "
                f"{_fmt(t['value'])} | {met} |"
            )
        lines.append("")
    lines += [f"![{Path(name).stem}]({name})" for name in images]
    lines += [""] if images else []
    for name, suite in summary["suites"].items():
        lines += _suite_block(name, suite, [r for r in records if r["suite"] == name])
    return "\n".join(lines).rstrip() + "\n"


def _run_block(run: dict[str, Any]) -> list[str]:
    if not run:
        return []
    lines = [f"- {key}: {_fmt(value)}" for key, value in run.items() if not isinstance(value, dict)]
    for key, value in run.items():
        if isinstance(value, dict) and value:
            inner = ", ".join(f"{k} {_fmt(v)}" for k, v in sorted(value.items()))
            lines.append(f"- {key}: {inner}")
    return [*lines, ""]


def _suite_block(name: str, suite: dict[str, Any], records: list[dict[str, Any]]) -> list[str]:
    lines = [f"## Suite `{name}`", ""]
    if suite.get("description"):
        lines += [suite["description"].strip(), ""]
    if suite.get("path"):
        lines += [f"File: `{suite['path']}`", ""]
    header = "| family | " + " | ".join(title for _, title in _FAMILY_COLUMNS) + " |"
    lines += [header, "|---" * (len(_FAMILY_COLUMNS) + 1) + "|"]
    rows = [*suite["families"].items(), ("**all**", suite["metrics"])]
    for family, values in rows:
        cells = " | ".join(_fmt(values.get(key)) for key, _ in _FAMILY_COLUMNS)
        lines.append(f"| {family} | {cells} |")
    lines.append("")
    for task, scores in suite["metrics"].get("classification", {}).items():
        lines += _classification_block(task, scores)
    lines += _failures_block(records)
    return lines


def _classification_block(task: str, scores: dict[str, Any]) -> list[str]:
    lines = [
        f"Classification `{task}`: n {scores['n']}, accuracy {_fmt(scores['accuracy'])}, "
        f"macro-F1 {_fmt(scores['macro_f1'])}.",
        "",
    ]
    confusion = scores["confusion"]
    labels = sorted(set(confusion) | {p for row in confusion.values() for p in row})
    lines += [
        "| truth \\ predicted | " + " | ".join(labels) + " |",
        "|---" * (len(labels) + 1) + "|",
    ]
    for truth in sorted(confusion):
        cells = " | ".join(str(confusion[truth].get(p, 0)) for p in labels)
        lines.append(f"| {truth} | {cells} |")
    return [*lines, ""]


def _failures_block(records: list[dict[str, Any]]) -> list[str]:
    failed = [r for r in records if not r["ok"]]
    if not failed:
        return ["Every turn met its expectations.", ""]
    lines = ["Failures:", ""]
    for r in failed:
        where = f"{r['case']}" + (f" turn {r['turn']}" if r.get("turn") else "")
        lines.append(f"- {where}: {'; '.join(_reasons(r))}")
    return [*lines, ""]


def _reasons(record: dict[str, Any]) -> list[str]:
    if record["status"] != "answered":
        return [f"{record['status']}: {record['error']}"]
    scores = record["scores"]
    reasons = []
    routing = scores["routing"]
    if routing["missing"]:
        reasons.append("not called: " + ", ".join(routing["missing"]))
    if routing["forbidden"]:
        reasons.append("called though forbidden: " + ", ".join(routing["forbidden"]))
    for key in scores["keys"]:
        if not key["ok"]:
            reasons.append(
                f"{key['kind']} {key['detail']}: expected {key['expected']!r}, got {key['got']!r}"
            )
    if scores["verification_ok"] is False:
        reasons.append(f"verification {record['verification']['status']}")
    return reasons


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
