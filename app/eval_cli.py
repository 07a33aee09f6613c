"""``smartpath eval run SUITE...``, ``smartpath eval compare RUN_A RUN_B``, ``eval routing``.

``eval run SUITE... [--out DIR] [--data DIR] [--config FILE] [--jobs N] [--label L]
[--compare BASELINE]`` runs suites and writes the reports; ``eval compare RUN_A RUN_B
[--out DIR]`` shows two runs' metrics side by side.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = [
    "EXIT_THRESHOLDS_MISSED",
    "add_parser",
    "compare",
    "default_data_root",
    "run",
    "run_suites_command",
]

EXIT_THRESHOLDS_MISSED = 4
_PROJECT_ROOT = Path(__file__).resolve().parents[1]


def add_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add the ``eval`` command and its ``run`` and ``compare`` subcommands."""
    ev = sub.add_parser("eval", help="run evaluation suites, write reports, compare runs")
    ev_sub = ev.add_subparsers(dest="eval_command", required=True, parser_class=parser_class)
    run_p = ev_sub.add_parser("run", help="run suites (YAML files or folders of them)")
    run_p.add_argument("suites", nargs="+", help="suite files or folders of *.yaml")
    run_p.add_argument("--out", type=Path, help="output folder (default eval-runs/<time>)")
    run_p.add_argument(
        "--data",
        type=Path,
        help="data root the suites' paths are relative to (default ../shared/data)",
    )
    run_p.add_argument(
        "--config",
        type=Path,
        help="run configuration (YAML or TOML): label, jobs, data, settings overrides",
    )
    run_p.add_argument(
        "--jobs", type=int, help="scenarios run at once, one co-pilot each (default 1)"
    )
    run_p.add_argument(
        "--share-copilot",
        action="store_true",
        help="with --jobs: all workers share one co-pilot (its cases are locked one by one)",
    )
    run_p.add_argument("--label", help="name of the run in its report and in comparisons")
    run_p.add_argument(
        "--compare",
        type=Path,
        metavar="BASELINE",
        help="an earlier run folder: also write compare.md/html of it (A) against this run (B)",
    )
    from eval.routing_args import add_parser as add_routing_parser

    add_routing_parser(ev_sub)
    cmp_p = ev_sub.add_parser(
        "compare", help="per-suite and per-family metric deltas of two runs, side by side"
    )
    cmp_p.add_argument("run_a", type=Path, metavar="RUN_A", help="run folder (A, the baseline)")
    cmp_p.add_argument("run_b", type=Path, metavar="RUN_B", help="run folder (B)")
    cmp_p.add_argument(
        "--out", type=Path, help="write compare.md and compare.html here (default: print Markdown)"
    )


def default_data_root(settings: Settings) -> Path:
    """Return SMARTPATH_EVAL_DATA, else ``shared/data`` beside the project folder."""
    return settings.eval_data or _PROJECT_ROOT.parent / "shared" / "data"


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one ``eval`` subcommand; return its exit code."""
    if args.eval_command == "compare":
        return compare(args.run_a, args.run_b, args.out)
    if args.eval_command == "routing":
        from eval.routing_report import run_routing

        return run_routing(args, settings)
    return run_suites_command(args, settings)


def compare(run_a: Path, run_b: Path, out: Path | None) -> int:
    """Compare two run folders: Markdown on stdout, or compare.md and compare.html in ``out``."""
    from eval.compare import compare_runs, load_run, render_compare_html, render_compare_markdown

    cmp = compare_runs(load_run(run_a), load_run(run_b), str(run_a), str(run_b))
    markdown = render_compare_markdown(cmp)
    if out is None:
        sys.stdout.write(markdown)
        return 0
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.md").write_text(markdown, encoding="utf-8")
    (out / "compare.html").write_text(render_compare_html(cmp), encoding="utf-8")
    sys.stdout.write(f"wrote {out / 'compare.md'}, {out / 'compare.html'}\n")
    return 0


def run_suites_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run the suites; return 0, or 4 when a threshold was missed."""
    from eval.compare import compare_runs, load_run, render_compare_html, render_compare_markdown
    from eval.plots import write_plots
    from eval.progress import progress_reporter
    from eval.report import render_html, render_markdown
    from eval.requirements import unmet_requirements
    from eval.run_config import RunConfig, load_run_config
    from eval.runner import run_suites
    from eval.suite import load_suite
    from eval.summary import summarise
    from eval.versions import run_versions

    config = RunConfig()
    if args.config is not None:
        config, settings = load_run_config(args.config.expanduser(), settings)
    jobs = args.jobs if args.jobs is not None else (config.jobs or 1)
    if jobs < 1:
        msg = f"--jobs must be at least 1, not {jobs}"
        raise ConfigError(msg)
    baseline = load_run(args.compare) if args.compare is not None else None
    data_root = (args.data or config.data or default_data_root(settings)).expanduser().resolve()
    if not data_root.is_dir():
        msg = f"data root {data_root} is not a folder; pass --data DIR or set SMARTPATH_EVAL_DATA"
        raise ConfigError(msg)
    suites = [load_suite(path, data_root) for path in _suite_files(args.suites)]
    out = args.out or Path("eval-runs") / time.strftime("%Y%m%d-%H%M%S")
    started = time.time()
    versions = run_versions(settings)
    cases = sum(len(s.cases) for s in suites)
    workers = max(1, min(jobs, cases))
    # bad settings fail here, before the output folder is made
    copilots = (
        _copilots(settings, 1) * workers if args.share_copilot else _copilots(settings, workers)
    )
    unmet = {s.suite: lines for s in suites if (lines := unmet_requirements(s, settings))}
    for name, lines in unmet.items():
        sys.stderr.write(f"suite {name} not run: {'; '.join(lines)}\n")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with progress_reporter() as progress:
            records = run_suites(
                suites, copilots, data_root, out / "runs.jsonl", progress, versions, unmet
            )
    finally:
        for copilot in {id(c): c for c in copilots}.values():
            copilot.close()
    summary = summarise(suites, records)
    label = args.label or config.label
    summary["run"] = _run_info(settings, data_root, started, records, label, jobs)
    summary["run"]["copilots"] = "one shared" if args.share_copilot else "one per worker"
    if any("knowledge_graph" in s.requires for s in suites):
        from eval.kg_info import describe_kg

        summary["run"]["knowledge_graph"] = describe_kg(settings)
    summary["run"]["config"] = {
        "file": str(args.config) if args.config else None,
        "settings": config.settings,
    }
    summary["run"]["settings"] = settings.model_dump(mode="json")
    summary["run"]["versions"] = versions
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    (out / "versions.json").write_text(json.dumps(versions, indent=2, default=str) + "\n")
    plots = [p.name for p in write_plots(summary, records, out)]
    (out / "report.md").write_text(render_markdown(summary, records, plots), encoding="utf-8")
    (out / "report.html").write_text(render_html(summary, records, plots, out), encoding="utf-8")
    written = [out / "report.md", out / "report.html", out / "summary.json", out / "runs.jsonl"]
    if baseline is not None:
        cmp = compare_runs(baseline, summary, str(args.compare), str(out))
        (out / "compare.md").write_text(render_compare_markdown(cmp), encoding="utf-8")
        (out / "compare.html").write_text(render_compare_html(cmp), encoding="utf-8")
        written.append(out / "compare.md")
    missed = [t for t in summary["thresholds"] if not t["ok"]]
    sys.stdout.write(f"wrote {', '.join(str(p) for p in written)}\n")
    for t in missed:
        sys.stdout.write(
            f"threshold missed: {t['suite']} {t['metric']} {t['bound']} {t['limit']:g}, "
            f"got {'none' if t['value'] is None else format(t['value'], '.3f')}\n"
        )
    return EXIT_THRESHOLDS_MISSED if missed else 0


def _copilots(settings: Settings, count: int) -> list[Any]:
    """One co-pilot per worker (cases never share one); all open the same cases database."""
    from app.runner import Copilot

    copilots: list[Any] = []
    try:
        for _ in range(count):
            copilots.append(Copilot(settings))
    except BaseException:
        for copilot in copilots:
            copilot.close()
        raise
    return copilots


def _suite_files(names: list[str]) -> list[Path]:
    files: list[Path] = []
    for name in names:
        path = Path(name).expanduser()
        if path.is_dir():
            found = sorted(path.glob("*.yaml"))
            if not found:
                msg = f"{path}: no *.yaml suite files in this folder"
                raise ConfigError(msg)
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            msg = f"{path}: no such suite file or folder"
            raise ConfigError(msg)
    return files


def _run_info(
    settings: Settings,
    data_root: Path,
    started: float,
    records: list[dict[str, Any]],
    label: str | None = None,
    jobs: int = 1,
) -> dict[str, Any]:
    experts = sorted(
        {
            f"{e['tool']}:{e.get('expert') or 'built-in'}/{e.get('backend') or '?'}"
            for r in records
            for e in r.get("evidence", [])
        }
    )
    return {
        "label": label,
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
        "seconds": round(time.time() - started, 2),
        "data_root": str(data_root),
        "reasoner": settings.reasoner,
        "reasoner_model": settings.reasoner_model,
        "experts_file": str(settings.experts_file) if settings.experts_file else "built-in",
        "knowledge_graph": settings.kg_chroma_url or str(settings.kg_dir),
        "experts_used": ", ".join(experts) or None,
        "jobs": jobs,
        "expert_timeout_s": settings.expert_timeout_s,
        "python": platform.python_version(),
    }
