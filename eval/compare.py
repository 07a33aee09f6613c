"""Compare two evaluation runs: per-suite and per-family metrics side by side with deltas.

Pure functions over two ``summary.json`` mappings; ``load_run`` reads one run folder.
A suite or family present in one run only is shown as missing on the other side.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from core.errors import ConfigError

__all__ = [
    "COMPARED",
    "Comparison",
    "MetricDelta",
    "RunSide",
    "compare_runs",
    "load_run",
    "measure_direction",
    "overview",
    "render_compare_html",
    "render_compare_markdown",
]

#: (metric key, title, True when higher is better, False lower, None neither); classification
#: metrics are added per task.
COMPARED: list[tuple[str, str, bool | None]] = [
    ("cases", "cases", None),
    ("turns_failed", "failed turns", False),
    ("routing_accuracy", "routing acc.", True),
    ("answer_accuracy", "answer keys passed", True),
    ("verification_accuracy", "verification as required", True),
    ("verified_share", "verified", True),
    ("citation_precision", "citation P", True),
    ("citation_recall", "citation R", True),
    ("entity_dice", "entity Dice", True),
    ("latency_mean_s", "mean s/turn", False),
    ("latency_p95_s", "p95 s/turn", False),
    ("tools_share", "time in tools", None),
]
_SAME = 5e-4  # deltas below the shown precision are no difference
#: metrics of the overview table (whole suites), besides each classification task's accuracy
OVERVIEW = ("answer_accuracy", "routing_accuracy", "verified_share", "latency_mean_s")
_RUN_KEYS = (
    "label",
    "reasoner",
    "reasoner_model",
    "experts_file",
    "knowledge_graph",
    "experts_used",
    "jobs",
)


class RunSide(BaseModel):
    """One side of a comparison: its label, folder and run settings."""

    label: str
    path: str | None
    run: dict[str, Any]
    passed: bool | None


class MetricDelta(BaseModel):
    """One metric of one suite/family in both runs; ``delta`` is B - A."""

    suite: str
    family: str
    metric: str
    title: str
    a: int | float | None
    b: int | float | None
    delta: int | float | None
    better: str | None  # "A", "B", "same" or None (not comparable)
    only: str | None = None  # "A" or "B" when the suite/family exists in one run only
    whole_suite: bool = False  # the suite's overall metrics (its "all" or its only family)


class Comparison(BaseModel):
    """Two runs, what differs in their settings, and every compared metric."""

    a: RunSide
    b: RunSide
    settings_differ: dict[str, tuple[Any, Any]]
    rows: list[MetricDelta]
    suites_only: dict[str, str]  # suite -> "A" or "B"


def load_run(path: Path) -> dict[str, Any]:
    """Read a run folder's (or file's) ``summary.json``.

    Raises:
        ConfigError: no such folder, no summary in it, or not a run summary (one line).
    """
    file = path / "summary.json" if path.is_dir() else path
    if not file.is_file():
        msg = f"{path}: not an evaluation run (no summary.json); pass a folder 'eval run' wrote"
        raise ConfigError(msg)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"{file}: cannot read the run summary: {exc}"
        raise ConfigError(msg) from None
    if not isinstance(data, dict) or not isinstance(data.get("suites"), dict):
        msg = f"{file}: not an evaluation run summary (no 'suites')"
        raise ConfigError(msg)
    return data


def _side(summary: dict[str, Any], path: str | None, default: str) -> RunSide:
    run = summary.get("run") or {}
    label = run.get("label") or (Path(path).name if path else None) or default
    return RunSide(label=str(label), path=path, run=run, passed=summary.get("passed"))


def _metric_rows(
    values: dict[str, Any],
) -> list[tuple[str, str, bool | None, int | float | None]]:
    rows = [(key, title, up, _num(values.get(key))) for key, title, up in COMPARED]
    for task, scores in sorted((values.get("classification") or {}).items()):
        for key, title in (("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("auc", "AUC")):
            if key in scores:
                value = _num(scores.get(key))
                rows.append((f"classification.{task}.{key}", f"{task} {title}", True, value))
    for task, measures in sorted((values.get("measures") or {}).items()):
        for key, value in measures.items():
            if key not in ("n", "n_scored"):
                up = measure_direction(key)
                rows.append((f"measures.{task}.{key}", f"{task} {key}", up, _num(value)))
    return rows


def measure_direction(name: str) -> bool | None:
    """True when a higher value of the measure is better, False lower, None neither (counts)."""
    if name.startswith("count") or name in ("n", "n_scored"):
        return None
    return "error" not in name


def _num(value: Any) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _delta(
    suite: str,
    family: str,
    key: str,
    title: str,
    up: bool | None,
    a: int | float | None,
    b: int | float | None,
    only: str | None = None,
    *,
    whole_suite: bool = False,
) -> MetricDelta:
    delta = None if a is None or b is None else b - a
    better = None
    if delta is not None and up is None:
        better = "same" if abs(delta) < _SAME else None
    elif delta is not None:
        better = "same" if abs(delta) < _SAME else ("B" if (delta > 0) == up else "A")
    return MetricDelta(
        suite=suite,
        family=family,
        metric=key,
        title=title,
        a=a,
        b=b,
        delta=delta,
        better=better,
        only=only,
        whole_suite=whole_suite,
    )


def _groups(suite: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    if suite is None:
        return {}
    return {**suite.get("families", {}), "all": suite.get("metrics", {})}


def compare_runs(
    a: dict[str, Any], b: dict[str, Any], path_a: str | None = None, path_b: str | None = None
) -> Comparison:
    """Compare two run summaries suite by suite and family by family (``all`` = the suite)."""
    side_a, side_b = _side(a, path_a, "A"), _side(b, path_b, "B")
    if side_a.label == side_b.label:
        side_a.label, side_b.label = f"A: {side_a.label}", f"B: {side_b.label}"
    differ = {
        key: (side_a.run.get(key), side_b.run.get(key))
        for key in _RUN_KEYS
        if side_a.run.get(key) != side_b.run.get(key)
    }
    va, vb = side_a.run.get("versions") or {}, side_b.run.get("versions") or {}
    if va.get("id") != vb.get("id"):
        differ["versions id"] = (va.get("id"), vb.get("id"))
    sa_, sb_ = side_a.run.get("settings") or {}, side_b.run.get("settings") or {}
    for key in sorted(set(sa_) | set(sb_)) if sa_ and sb_ else []:  # older runs have none
        if key not in _RUN_KEYS and sa_.get(key) != sb_.get(key):
            differ[f"setting {key}"] = (sa_.get(key), sb_.get(key))
    rows: list[MetricDelta] = []
    only: dict[str, str] = {}
    names = list(a["suites"]) + [s for s in b["suites"] if s not in a["suites"]]
    for name in names:
        sa, sb = a["suites"].get(name), b["suites"].get(name)
        if sa is None or sb is None:
            only[name] = "A" if sb is None else "B"
        ga, gb = _groups(sa), _groups(sb)
        families = sorted({f for f in [*ga, *gb] if f != "all"})
        single = len(families) == 1 and families[0] in ga and families[0] in gb
        groups = families if single else [*families, "all"]
        for family in groups if sa is not None and sb is not None else ["all"]:
            ma, mb = ga.get(family), gb.get(family)
            side_only = None if ma is not None and mb is not None else ("A" if mb is None else "B")
            ra = {k: (t, u, v) for k, t, u, v in _metric_rows(ma or {})}
            rb = {k: (t, u, v) for k, t, u, v in _metric_rows(mb or {})}
            for key in list(ra) + [k for k in rb if k not in ra]:
                title, up, _ = ra.get(key) or rb[key]
                rows.append(
                    _delta(
                        name,
                        family,
                        key,
                        title,
                        up,
                        ra.get(key, (0, 0, None))[2],
                        rb.get(key, (0, 0, None))[2],
                        side_only,
                        whole_suite=single or family == "all",
                    )
                )
    return Comparison(a=side_a, b=side_b, settings_differ=differ, rows=rows, suites_only=only)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _fmt_delta(row: MetricDelta) -> str:
    if row.only:
        return f"only in {row.only}"
    if row.delta is None:
        return "–"
    mark = {"A": " (A better)", "B": " (B better)"}.get(row.better or "", "")
    if isinstance(row.delta, int):
        return f"{row.delta:+d}{mark}"
    return f"{row.delta:+.3f}{mark}"


def _tables(cmp: Comparison) -> list[tuple[str, str, list[MetricDelta]]]:
    """(suite, title, rows) groups in order."""
    groups: dict[tuple[str, str], list[MetricDelta]] = {}
    for row in cmp.rows:
        groups.setdefault((row.suite, row.family), []).append(row)
    out = []
    for (suite, family), rows in groups.items():
        if family == "all":
            title = "all families"
        else:
            title = f"family {family}" + (" (the whole suite)" if rows[0].whole_suite else "")
        out.append((suite, title, rows))
    return out


def overview(cmp: Comparison) -> list[MetricDelta]:
    """Whole-suite headline rows: scores, latency, task accuracies, F1s and Dices."""
    return [r for r in cmp.rows if r.whole_suite and _headline(r.metric)]


def _headline(metric: str) -> bool:
    parts = metric.split(".")
    if parts[0] == "classification":
        return parts[-1] == "accuracy"
    if parts[0] == "measures":
        return parts[-1] in ("f1", "dice")
    return metric in OVERVIEW


def _header_lines(cmp: Comparison) -> list[tuple[str, str]]:
    out = []
    for tag, side in (("A", cmp.a), ("B", cmp.b)):
        verdict = {True: "thresholds met", False: "thresholds missed", None: "–"}[side.passed]
        out.append((tag, f"{side.label} ({side.path or 'summary'}; {verdict})"))
    return out


def render_compare_markdown(cmp: Comparison) -> str:
    """The comparison as Markdown: runs, settings that differ, one table per suite/family."""
    lines = ["# SmartPath evaluation comparison", ""]
    lines += [f"- {tag}: {text}" for tag, text in _header_lines(cmp)]
    lines += ["- delta = B - A; 'better' follows each metric's direction (latency: lower)", ""]
    if cmp.settings_differ:
        lines += ["| setting | A | B |", "|---|---|---|"]
        lines += [
            f"| {k} | {_fmt(va)} | {_fmt(vb)} |" for k, (va, vb) in cmp.settings_differ.items()
        ]
        lines.append("")
    else:
        lines += ["Run settings are the same.", ""]
    for suite, side in cmp.suites_only.items():
        lines += [
            f"Suite `{suite}` is only in run {side} ({'B' if side == 'A' else 'A'}: missing).",
            "",
        ]
    head = overview(cmp)
    if head:
        lines += [
            "## Overview",
            "",
            f"| suite | metric | A: {cmp.a.label} | B: {cmp.b.label} | delta |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r.suite} | {r.title} | {_fmt(r.a)} | {_fmt(r.b)} | {_fmt_delta(r)} |" for r in head
        ]
        lines.append("")
    current = None
    for suite, title, rows in _tables(cmp):
        if suite in cmp.suites_only:
            continue
        if suite != current:
            lines += [f"## Suite `{suite}`", ""]
            current = suite
        lines += [
            f"### {title}",
            "",
            f"| metric | A: {cmp.a.label} | B: {cmp.b.label} | delta |",
            "|---|---|---|---|",
        ]
        lines += [f"| {r.title} | {_fmt(r.a)} | {_fmt(r.b)} | {_fmt_delta(r)} |" for r in rows]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.2em}td,th{border:1px solid #ccc;padding:.25em .6em}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.better-A{color:#a40000}.better-B{color:#006400}.only{color:#885500;font-style:italic}"""


def render_compare_html(cmp: Comparison) -> str:
    """The comparison as one self-contained HTML page (B better in green, A better in red)."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>SmartPath evaluation comparison</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>SmartPath evaluation comparison</h1>",
        "<ul>",
    ]
    parts += [f"<li><b>{tag}</b>: {e(text)}</li>" for tag, text in _header_lines(cmp)]
    parts += ["<li>delta = B &minus; A; colour shows the better run for each metric</li>", "</ul>"]
    if cmp.settings_differ:
        parts.append("<table><tr><th>setting</th><th>A</th><th>B</th></tr>")
        parts += [
            f"<tr><td>{e(k)}</td><td>{e(_fmt(va))}</td><td>{e(_fmt(vb))}</td></tr>"
            for k, (va, vb) in cmp.settings_differ.items()
        ]
        parts.append("</table>")
    else:
        parts.append("<p>Run settings are the same.</p>")
    for suite, side in cmp.suites_only.items():
        parts.append(f'<p class="only">Suite <code>{e(suite)}</code> is only in run {side}.</p>')
    head = overview(cmp)
    if head:
        parts += ["<h2>Overview</h2>", _html_rows(cmp, head, with_suite=True)]
    current = None
    for suite, title, rows in _tables(cmp):
        if suite in cmp.suites_only:
            continue
        if suite != current:
            parts.append(f"<h2>Suite <code>{e(suite)}</code></h2>")
            current = suite
        parts += [
            f"<h3>{e(title)}</h3>",
            _html_rows(cmp, rows),
        ]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_rows(cmp: Comparison, rows: list[MetricDelta], with_suite: bool = False) -> str:
    e = html.escape
    first = "<th>suite</th>" if with_suite else ""
    out = [
        f"<table><tr>{first}<th>metric</th><th>A: {e(cmp.a.label)}</th>"
        f"<th>B: {e(cmp.b.label)}</th><th>delta</th></tr>"
    ]
    for r in rows:
        cls = "only" if r.only else f"better-{r.better}" if r.better in ("A", "B") else ""
        suite = f"<td>{e(r.suite)}</td>" if with_suite else ""
        out.append(
            f"<tr>{suite}<td>{e(r.title)}</td><td class=num>{_fmt(r.a)}</td>"
            f'<td class=num>{_fmt(r.b)}</td><td class="num {cls}">{e(_fmt_delta(r))}</td></tr>'
        )
    out.append("</table>")
    return "\n".join(out)
