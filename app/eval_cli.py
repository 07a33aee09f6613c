"""``smartpath eval run SUITE... [--out DIR] [--data DIR]``: run suites, write the report."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from agent.config import Settings
from agent.errors import ConfigError

__all__ = ["EXIT_THRESHOLDS_MISSED", "add_parser", "default_data_root", "run"]

EXIT_THRESHOLDS_MISSED = 4
_PROJECT_ROOT = Path(__file__).resolve().parents[1]
_VERSIONS = ("smartpath-copilot", "langgraph", "numpy", "openslide-python", "chromadb", "torch")


def add_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add the ``eval`` command and its ``run`` subcommand."""
    ev = sub.add_parser("eval", help="run evaluation suites and write a report")
    ev_sub = ev.add_subparsers(dest="eval_command", required=True, parser_class=parser_class)
    run_p = ev_sub.add_parser("run", help="run suites (YAML files or folders of them)")
    run_p.add_argument("suites", nargs="+", help="suite files or folders of *.yaml")
    run_p.add_argument("--out", type=Path, help="output folder (default eval-runs/<time>)")
    run_p.add_argument(
        "--data",
        type=Path,
        help="data root the suites' paths are relative to (default ../shared/data)",
    )


def default_data_root(settings: Settings) -> Path:
    """Return SMARTPATH_EVAL_DATA, else ``shared/data`` beside the project folder."""
    return settings.eval_data or _PROJECT_ROOT.parent / "shared" / "data"


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the suites through one co-pilot; return 0, or 4 when a threshold was missed."""
    from app.runner import Copilot
    from eval.plots import write_plots
    from eval.report import render_markdown
    from eval.runner import run_suites
    from eval.suite import load_suite
    from eval.summary import summarise

    data_root = (args.data or default_data_root(settings)).expanduser().resolve()
    if not data_root.is_dir():
        msg = f"data root {data_root} is not a folder; pass --data DIR or set SMARTPATH_EVAL_DATA"
        raise ConfigError(msg)
    suites = [load_suite(path, data_root) for path in _suite_files(args.suites)]
    out = args.out or Path("eval-runs") / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    copilot = Copilot(settings)
    try:
        records = run_suites(suites, copilot, data_root, out / "runs.jsonl", _progress)
    finally:
        copilot.close()
    summary = summarise(suites, records)
    summary["run"] = _run_info(settings, data_root, started, records)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    plots = [p.name for p in write_plots(summary, records, out)]
    (out / "report.md").write_text(render_markdown(summary, records, plots))
    missed = [t for t in summary["thresholds"] if not t["ok"]]
    sys.stdout.write(f"wrote {out / 'report.md'}, {out / 'summary.json'}, {out / 'runs.jsonl'}\n")
    for t in missed:
        sys.stdout.write(
            f"threshold missed: {t['suite']} {t['metric']} {t['bound']} {t['limit']:g}, "
            f"got {'none' if t['value'] is None else format(t['value'], '.3f')}\n"
        )
    return EXIT_THRESHOLDS_MISSED if missed else 0


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


def _progress(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _run_info(
    settings: Settings, data_root: Path, started: float, records: list[dict[str, Any]]
) -> dict[str, Any]:
    experts = sorted(
        {
            f"{e['tool']}:{e.get('expert') or 'built-in'}/{e.get('backend') or '?'}"
            for r in records
            for e in r.get("evidence", [])
        }
    )
    return {
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
        "seconds": round(time.time() - started, 2),
        "data_root": str(data_root),
        "reasoner": settings.reasoner,
        "reasoner_model": settings.reasoner_model,
        "experts_file": str(settings.experts_file) if settings.experts_file else "built-in",
        "knowledge_graph": settings.kg_chroma_url or str(settings.kg_dir),
        "experts_used": ", ".join(experts) or None,
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in _VERSIONS},
    }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
