"""Composition root and command line: ``smartpath ask | app | cases | experts | kg | …``.

Only the parser is built at import: each subcommand imports its machinery when it runs, so
``smartpath --help`` loads no model, store or web library (``benchmarks/bench_startup.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app import eval_cli, experts_cli, kg_cli, models_cli
from core.errors import (
    CaseBusyError,
    CaseError,
    ConfigError,
    CopilotError,
    PlanError,
    SlideOpenError,
    ToolInputError,
    ToolServerError,
)
from core.text import terminal_safe

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = ["main"]

logger = logging.getLogger("smartpath")

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_BACKEND = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        msg = f"{self.prog}: {message} (see --help)"
        raise ConfigError(msg)


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = _Parser(prog="smartpath", description="SmartPath Co-pilot for pathology slides.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ask = sub.add_parser("ask", help="ask a question about a slide (a new or continued case)")
    ask.add_argument("slide", help="slide or image file, or 'sample' for the bundled sample")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--case", dest="case_id", help="continue (or create) the case with this id")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    cases = sub.add_parser("cases", help="list or show persistent cases")
    cases_sub = cases.add_subparsers(dest="cases_command", required=True, parser_class=_Parser)
    lst = cases_sub.add_parser("list", help="list cases, most recent first")
    lst.add_argument("--json", action="store_true")
    show = cases_sub.add_parser("show", help="show one case: slide, regions, turns")
    show.add_argument("case_id")
    show.add_argument("--json", action="store_true")
    export = cases_sub.add_parser(
        "export", help="export a case: Markdown report (.md or .zip) and/or GeoJSON for QuPath"
    )
    export.add_argument("case_id")
    export.add_argument("--markdown", type=Path, help="report file: .md (images beside) or .zip")
    export.add_argument("--geojson", type=Path, help="annotations file (level-0 pixels)")
    eval_cli.add_parser(sub, _Parser)
    experts_cli.add_parser(sub, _Parser)
    kg_cli.add_parser(sub, _Parser)
    models_cli.add_parser(sub, _Parser)
    web = sub.add_parser("app", help="serve the web app (Gradio) on 127.0.0.1")
    web.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    web.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    sample = sub.add_parser("sample", help="fetch the bundled sample slide and print its path")
    sample.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    try:
        args = build_parser().parse_args(argv)
        settings = _settings()
        logging.basicConfig(
            level=settings.log_level.upper(),
            stream=sys.stderr,
            format="%(levelname)s %(name)s: %(message)s",
        )
        return _dispatch(args, settings)
    except CaseBusyError as exc:  # another turn holds the case: unavailable for now
        return _fail(str(exc), EXIT_BACKEND)
    except (ToolInputError, PlanError, CaseError, ConfigError) as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    except ToolServerError as exc:
        return _fail(str(exc), EXIT_BACKEND)
    except CopilotError as exc:
        return _fail(str(exc), EXIT_INTERNAL)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Exception as exc:  # never show a traceback; keep it in the debug log
        logger.debug("internal error", exc_info=True)
        return _fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_INTERNAL)


def _settings() -> Settings:
    from pydantic import ValidationError

    from core.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "SMARTPATH_" + "_".join(str(p) for p in first["loc"]).upper()
        msg = f"invalid setting {name}: {first['msg']}"
        raise ConfigError(msg) from None


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "eval":
        return eval_cli.run(args, settings)
    if args.command == "experts":
        return experts_cli.run(args, settings)
    if args.command == "kg":
        return kg_cli.run(args, settings)
    if args.command == "models":
        return models_cli.run(args, settings)
    if args.command == "app":
        from app.web.server import serve

        return serve(settings, host=args.host, port=args.port)
    if args.command == "sample":
        from app.samples import fetch_sample

        path = fetch_sample(settings.samples_dir)
        _out(json.dumps({"path": str(path)}) if args.json else str(path))
        return EXIT_OK
    from app.runner import Copilot

    copilot = Copilot(settings)
    try:
        if args.command == "ask":
            return _ask(copilot, args, settings)
        return _cases(copilot, args)
    finally:
        copilot.close()


def _ask(copilot: object, args: argparse.Namespace, settings: Settings) -> int:
    from app.cli_render import render_turn
    from app.runner import Copilot, TurnResult

    assert isinstance(copilot, Copilot)
    slide = _resolve_slide(args.slide, settings)
    result: TurnResult | None = None
    for item in copilot.ask_stream(slide, args.question, case_id=args.case_id):
        if isinstance(item, TurnResult):
            result = item
        else:
            logger.info("%s", item.text)  # progress on stderr with SMARTPATH_LOG_LEVEL=info
    assert result is not None
    if args.json:
        _out(result.model_dump_json())
    else:
        _out(render_turn(result))
    code = result.exit_code
    if code:
        _fail(str(result.error), code)
    return code


def _cases(copilot: object, args: argparse.Namespace) -> int:
    from app.cli_render import render_case, render_cases
    from app.runner import Copilot

    assert isinstance(copilot, Copilot)
    if args.cases_command == "list":
        records = copilot.cases.list()
        _out(json.dumps([r.model_dump() for r in records]) if args.json else render_cases(records))
        return EXIT_OK
    if args.cases_command == "export":
        return _export(copilot, args)
    record, state = copilot.case(args.case_id)
    if record is None:
        msg = f"no case {args.case_id!r}; see 'smartpath cases list'"
        raise CaseError(msg)
    audit = str(copilot.audit.path(args.case_id))
    if args.json:
        payload = {
            **record.model_dump(),
            "audit_log": audit,
            "rois": state.get("rois", []),
            "findings": state.get("findings", []),
        }
        _out(json.dumps(payload))
    else:
        _out(render_case(record, state, audit))
    return EXIT_OK


def _export(copilot: object, args: argparse.Namespace) -> int:
    from app.case_export import load_case, write_geojson, write_markdown
    from app.runner import Copilot

    assert isinstance(copilot, Copilot)
    if args.markdown is None and args.geojson is None:
        msg = "smartpath cases export: give --markdown FILE and/or --geojson FILE"
        raise ConfigError(msg)
    bundle = load_case(copilot, args.case_id)
    if args.markdown is not None:
        with _writing("report", args.markdown):
            written = write_markdown(bundle, args.markdown, copilot.settings.artifacts_dir)
        _out(f"report: {written}")
    if args.geojson is not None:
        with _writing("GeoJSON", args.geojson):
            written = write_geojson(bundle, args.geojson)
        _out(f"geojson: {written}")
    return EXIT_OK


@contextlib.contextmanager
def _writing(what: str, dest: Path) -> Iterator[None]:
    """Turn a target that cannot be written (a folder, no permission, no place) into one line."""
    if dest.is_dir():
        msg = f"cannot write the {what} to {dest}: it is a folder; give a file name inside it"
        raise ConfigError(msg)
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        msg = f"cannot write the {what} to {dest}: {reason}"
        raise ConfigError(msg) from None


_URL_RE = re.compile(r"\A[A-Za-z][A-Za-z0-9+.-]*://")


def _resolve_slide(arg: str, settings: Settings) -> Path:
    """The slide file named on the command line (``sample``: the bundled sample slide).

    Raises:
        SlideOpenError: the argument is empty or a URL (slides are read from local files).
    """
    if not arg.strip():
        msg = "no slide file given: name a slide or image file, or 'sample'"
        raise SlideOpenError(msg)
    if _URL_RE.match(arg):
        msg = (
            f"{arg.split('://', 1)[0]}:// addresses are not read: download the slide and give "
            "the path of the local file"
        )
        raise SlideOpenError(msg)
    path = Path(arg).expanduser()
    if arg == "sample" and not path.exists():
        from app.samples import fetch_sample

        return fetch_sample(settings.samples_dir)
    return path


def _out(text: str) -> None:
    sys.stdout.write(terminal_safe(text) + "\n")


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"error: {terminal_safe(' '.join(message.split()))}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
