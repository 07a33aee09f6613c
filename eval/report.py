"""Render an evaluation run's summary and records as a report readable on its own.

Two renderers over the same content: Markdown (images as relative links beside the report)
and one self-contained HTML page (images embedded as base64 PNG). Sections: run and
configuration, thresholds, plots, per-suite family tables, classification tables with their
confusion-matrix plots, failures, and the versions of experts and packages.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.plots import confusion_plot_name

__all__ = ["render_html", "render_markdown"]

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
_NESTED = ("versions", "settings", "config")


def render_markdown(
    summary: dict[str, Any], records: list[dict[str, Any]], images: Sequence[str] = ()
) -> str:
    """Return the report: settings, thresholds, plots, per-family tables, classes, failures.

    Args:
        summary: what ``eval.summary.summarise`` returned, with a ``run`` block.
        records: the run's turn records.
        images: PNG file names beside the report; confusion matrices are shown in their
            suite's section, the others after the thresholds.
    """
    run = summary.get("run", {})
    title = "# SmartPath evaluation report" + (f": {run['label']}" if run.get("label") else "")
    lines = [title, ""]
    lines += _run_block(run)
    if _jobs_note(run):
        lines += [_jobs_note(run), ""]
    verdict = "all thresholds met" if summary["passed"] else "**thresholds missed**"
    lines += [f"Result: {verdict}.", ""]
    if summary["thresholds"]:
        lines += _md_table(
            ["suite", "metric", "bound", "limit", "value", "met"], _threshold_rows(summary)
        )
    general = [n for n in images if not Path(n).name.startswith("confusion-")]
    lines += [f"![{Path(name).stem}]({name})" for name in general]
    lines += [""] if general else []
    for name, suite in summary["suites"].items():
        lines += _suite_block(name, suite, [r for r in records if r["suite"] == name], images)
    lines += _versions_block(run.get("versions") or {})
    return "\n".join(lines).rstrip() + "\n"


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _threshold_rows(summary: dict[str, Any], bold: bool = True) -> list[list[str]]:
    return [
        [
            t["suite"],
            t["metric"],
            t["bound"],
            f"{t['limit']:g}",
            _fmt(t["value"]),
            "yes" if t["ok"] else ("**no**" if bold else "no"),
        ]
        for t in summary["thresholds"]
    ]


def _run_items(run: dict[str, Any]) -> list[tuple[str, str]]:
    items = [(k, _fmt(v)) for k, v in run.items() if k not in _NESTED and not isinstance(v, dict)]
    for key, value in run.items():
        if key not in _NESTED and isinstance(value, dict) and value:
            items.append((key, ", ".join(f"{k} {_fmt(v)}" for k, v in sorted(value.items()))))
    config = run.get("config") or {}
    if config.get("file"):
        items.append(("config file", str(config["file"])))
    overrides = config.get("settings") or {}
    if overrides:
        items.append(
            ("settings overridden", ", ".join(f"{k}={_fmt(v)}" for k, v in overrides.items()))
        )
    return items


def _jobs_note(run: dict[str, Any]) -> str:
    jobs = run.get("jobs") or 1
    if jobs <= 1:
        return ""
    return (
        f"Note: up to {jobs} scenarios ran at once, so per-turn latencies include waiting for "
        "the shared CPU; compare latency only between runs with the same jobs."
    )


def _run_block(run: dict[str, Any]) -> list[str]:
    items = _run_items(run)
    return [*(f"- {k}: {v}" for k, v in items), ""] if items else []


def _family_rows(suite: dict[str, Any]) -> list[tuple[str, list[str]]]:
    rows = [*suite["families"].items(), ("all", suite["metrics"])]
    return [(family, [_fmt(values.get(k)) for k, _ in _FAMILY_COLUMNS]) for family, values in rows]


def _suite_block(
    name: str, suite: dict[str, Any], records: list[dict[str, Any]], images: Sequence[str]
) -> list[str]:
    lines = [f"## Suite `{name}`", ""]
    if suite.get("description"):
        lines += [suite["description"].strip(), ""]
    if suite.get("path"):
        lines += [f"File: `{suite['path']}`", ""]
    rows = [[f"**{f}**" if f == "all" else f, *cells] for f, cells in _family_rows(suite)]
    lines += _md_table(["family", *(t for _, t in _FAMILY_COLUMNS)], rows)
    measured = _measure_table(suite)
    if measured:
        lines += ["Measures per task (mean over answer keys):", "", *_md_table(*measured)]
    for task, scores in suite["metrics"].get("classification", {}).items():
        lines += _classification_block(task, scores)
        plot = confusion_plot_name(name, task)
        if plot in images:
            lines += [f"![confusion matrix {task}]({plot})", ""]
    lines += _failures_block(records)
    return lines


def _confusion_rows(scores: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    confusion = scores["confusion"]
    labels = sorted(set(confusion) | {p for row in confusion.values() for p in row})
    rows = [[t, *(str(confusion[t].get(p, 0)) for p in labels)] for t in sorted(confusion)]
    return labels, rows


def _classification_text(task: str, scores: dict[str, Any]) -> str:
    text = (
        f"n {scores['n']}, accuracy {_fmt(scores['accuracy'])}, macro-F1 {_fmt(scores['macro_f1'])}"
    )
    if "auc" in scores:
        text += f", one-vs-rest AUC {_fmt(scores['auc'])}"
    return text


def _measure_table(suite: dict[str, Any]) -> tuple[list[str], list[list[str]]] | None:
    """Detection, mask and facts measures per task (means over keys), or None when none."""
    measures = suite["metrics"].get("measures") or {}
    if not measures:
        return None
    names = sorted({k for row in measures.values() for k in row if k not in ("n", "n_scored")})
    rows = [
        [task, _fmt(row.get("n")), _fmt(row.get("n_scored")), *(_fmt(row.get(k)) for k in names)]
        for task, row in sorted(measures.items())
    ]
    return ["task", "keys", "scored", *names], rows


def _classification_block(task: str, scores: dict[str, Any]) -> list[str]:
    lines = [f"Classification `{task}`: {_classification_text(task, scores)}.", ""]
    labels, rows = _confusion_rows(scores)
    return lines + _md_table(["truth \\ predicted", *labels], rows)


def _failures(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (f"{r['case']}" + (f" turn {r['turn']}" if r.get("turn") else ""), "; ".join(_reasons(r)))
        for r in records
        if not r["ok"]
    ]


def _failures_block(records: list[dict[str, Any]]) -> list[str]:
    failed = _failures(records)
    if not failed:
        return ["Every turn met its expectations.", ""]
    return ["Failures:", "", *(f"- {where}: {why}" for where, why in failed), ""]


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


def _expert_rows(versions: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, e in (versions.get("experts") or {}).items():
        weights = ", ".join(
            f"{Path(w['file']).name} {w['sha256'][:16] if w.get('sha256') else '?'}"
            + ("" if w.get("present") else " (absent)")
            for w in e.get("weights", [])
        )
        model = e.get("model") or e.get("implementation") or "–"
        package = f"{e['package']} {e.get('package_version')}" if e.get("package") else "–"
        rows.append(
            [name, e.get("task", "–"), e.get("backend", "–"), model, package, weights or "–"]
        )
    return rows


def _package_line(versions: dict[str, Any]) -> str:
    packages = versions.get("packages") or {}
    return ", ".join(f"{k} {v}" for k, v in packages.items() if v)


def _versions_block(versions: dict[str, Any]) -> list[str]:
    if not versions:
        return []
    reasoner = versions.get("reasoner") or {}
    lines = [
        "## Versions",
        "",
        f"- versions id: {versions.get('id')} (every record of this run carries it)",
        f"- co-pilot: {versions.get('copilot')}; Python {versions.get('python')}",
        f"- reasoner: {reasoner.get('kind')}"
        + (
            f", model {reasoner['model']} at {reasoner.get('url')}" if reasoner.get("model") else ""
        ),
        f"- experts file: {versions.get('experts_file')}",
        f"- knowledge graph: {versions.get('knowledge_graph')}; "
        f"embeddings {versions.get('embedding_model')}",
        f"- packages: {_package_line(versions)}",
        "",
    ]
    rows = _expert_rows(versions)
    if rows:
        lines += _md_table(
            ["expert", "task", "backend", "model / implementation", "package", "weights (sha256)"],
            rows,
        )
    return lines


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


# --------------------------------------------------------------------------- HTML

_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:80em;color:#222;
padding:0 1em}table{border-collapse:collapse;margin:.5em 0 1.2em;font-size:.9em}
td,th{border:1px solid #ccc;padding:.25em .55em;vertical-align:top}th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.all td{font-weight:bold}
.missed{color:#a40000;font-weight:bold}.met{color:#006400}img{max-width:100%;margin:.4em 1em .4em 0}
code{background:#f6f6f6;padding:0 .2em}nav a{margin-right:1em}"""


def _img(name: str, folder: Path | None, alt: str) -> str:
    path = (folder / name) if folder is not None else Path(name)
    if path.is_file():
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
    return f'<img alt="{html.escape(alt)}" src="{html.escape(name)}">'


def _html_table(
    header: list[str],
    rows: list[list[str]],
    numeric_from: int = 1,
    row_class: list[str] | None = None,
) -> str:
    e = html.escape
    out = ["<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>"]
    for i, row in enumerate(rows):
        cls = f' class="{row_class[i]}"' if row_class and row_class[i] else ""
        cells = "".join(
            f"<td{' class=num' if j >= numeric_from else ''}>{e(c)}</td>" for j, c in enumerate(row)
        )
        out.append(f"<tr{cls}>{cells}</tr>")
    out.append("</table>")
    return "\n".join(out)


def render_html(
    summary: dict[str, Any],
    records: list[dict[str, Any]],
    images: Sequence[str] = (),
    folder: Path | None = None,
) -> str:
    """Return one self-contained HTML page with the Markdown report's content.

    Args:
        summary: the run summary with its ``run`` block.
        records: the run's turn records.
        images: PNG file names; read from ``folder`` and embedded as base64 when they exist
            there, else linked relatively.
        folder: where the images lie (the run's output folder).
    """
    e = html.escape
    run = summary.get("run", {})
    title = "SmartPath evaluation report" + (f": {run['label']}" if run.get("label") else "")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    links = ['<a href="#run">Run</a>', '<a href="#thresholds">Thresholds</a>']
    links += [f'<a href="#suite-{e(n)}">{e(n)}</a>' for n in summary["suites"]]
    links.append('<a href="#versions">Versions</a>')
    parts.append("<nav>" + "".join(links) + "</nav>")
    parts.append('<h2 id="run">Run</h2><ul>')
    parts += [f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in _run_items(run)]
    parts.append("</ul>")
    if _jobs_note(run):
        parts.append(f"<p>{e(_jobs_note(run))}</p>")
    verdict = (
        '<span class="met">all thresholds met</span>'
        if summary["passed"]
        else '<span class="missed">thresholds missed</span>'
    )
    parts.append(f'<h2 id="thresholds">Thresholds</h2><p>Result: {verdict}.</p>')
    if summary["thresholds"]:
        rows = _threshold_rows(summary, bold=False)
        parts.append(
            _html_table(
                ["suite", "metric", "bound", "limit", "value", "met"],
                rows,
                3,
                ["" if t["ok"] else "missed" for t in summary["thresholds"]],
            )
        )
    general = [n for n in images if not Path(n).name.startswith("confusion-")]
    if general:
        parts.append(
            "<h2>Plots</h2><p>" + "".join(_img(n, folder, Path(n).stem) for n in general) + "</p>"
        )
    for name, suite in summary["suites"].items():
        parts.append(
            _suite_html(name, suite, [r for r in records if r["suite"] == name], images, folder)
        )
    parts.append(_versions_html(run.get("versions") or {}))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _suite_html(
    name: str,
    suite: dict[str, Any],
    records: list[dict[str, Any]],
    images: Sequence[str],
    folder: Path | None,
) -> str:
    e = html.escape
    parts = [f'<h2 id="suite-{e(name)}">Suite <code>{e(name)}</code></h2>']
    if suite.get("description"):
        parts.append(f"<p>{e(suite['description'].strip())}</p>")
    if suite.get("path"):
        parts.append(f"<p>File: <code>{e(str(suite['path']))}</code></p>")
    family_rows = _family_rows(suite)
    parts.append("<h3>Per family</h3>")
    parts.append(
        _html_table(
            ["family", *(t for _, t in _FAMILY_COLUMNS)],
            [[f, *cells] for f, cells in family_rows],
            1,
            ["all" if f == "all" else "" for f, _ in family_rows],
        )
    )
    measured = _measure_table(suite)
    if measured:
        parts.append("<h3>Measures per task</h3><p>Mean over answer keys.</p>")
        parts.append(_html_table(*measured))
    for task, scores in suite["metrics"].get("classification", {}).items():
        parts.append(f"<h3>Classification <code>{e(task)}</code></h3>")
        parts.append(f"<p>{e(_classification_text(task, scores))}.</p>")
        labels, rows = _confusion_rows(scores)
        parts.append(_html_table(["truth \\ predicted", *labels], rows))
        plot = confusion_plot_name(name, task)
        if plot in images:
            parts.append(f"<p>{_img(plot, folder, f'confusion matrix {task}')}</p>")
    failed = _failures(records)
    if failed:
        parts.append("<h3>Failures</h3><ul>")
        parts += [f"<li><b>{e(where)}</b>: {e(why)}</li>" for where, why in failed]
        parts.append("</ul>")
    else:
        parts.append("<p>Every turn met its expectations.</p>")
    parts.append(_turns_html(records))
    return "\n".join(parts)


def _turns_html(records: list[dict[str, Any]]) -> str:
    """Every turn of the suite in a collapsed table: case, request, answer, status, seconds."""
    rows = []
    for r in records:
        seconds = (r.get("timings") or {}).get("total_s")
        answer = r.get("answer") or r.get("error") or ""
        rows.append(
            [
                r["case"],
                _fmt(r.get("turn")),
                r.get("family", ""),
                r.get("request") or "",
                answer if len(answer) <= 300 else answer[:297] + "...",
                (r.get("verification") or {}).get("status") or r["status"],
                "yes" if r["ok"] else "no",
                _fmt(seconds),
            ]
        )
    header = ["case", "turn", "family", "request", "answer", "verification", "met", "s"]
    table = _html_table(header, rows, 7, ["" if r["ok"] else "missed" for r in records])
    return f"<details><summary>All {len(records)} turn record(s)</summary>\n{table}\n</details>"


def _versions_html(versions: dict[str, Any]) -> str:
    if not versions:
        return ""
    e = html.escape
    reasoner = versions.get("reasoner") or {}
    items = [
        ("versions id", f"{versions.get('id')} (every record of this run carries it)"),
        ("co-pilot", f"{versions.get('copilot')}; Python {versions.get('python')}"),
        ("reasoner", " ".join(str(v) for v in reasoner.values() if v)),
        ("experts file", str(versions.get("experts_file"))),
        (
            "knowledge graph",
            f"{versions.get('knowledge_graph')}; embeddings {versions.get('embedding_model')}",
        ),
        ("packages", _package_line(versions)),
    ]
    parts = ['<h2 id="versions">Versions</h2><ul>']
    parts += [f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in items]
    parts.append("</ul>")
    rows = _expert_rows(versions)
    if rows:
        parts.append(
            _html_table(
                [
                    "expert",
                    "task",
                    "backend",
                    "model / implementation",
                    "package",
                    "weights (sha256)",
                ],
                rows,
                99,
            )
        )
    return "\n".join(parts)
