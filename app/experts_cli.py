"""``smartpath experts list | check | serve``: what is configured, what answers, how to serve."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from typing import TYPE_CHECKING

from core.errors import ToolServerError

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction, parser_class: type) -> None:
    """Add the ``experts`` subcommands."""
    experts = sub.add_parser("experts", help="list, check or serve the configured experts")
    cmds = experts.add_subparsers(dest="experts_command", required=True, parser_class=parser_class)
    lst = cmds.add_parser("list", help="the experts of the experts file")
    lst.add_argument("--json", action="store_true")
    check = cmds.add_parser("check", help="reach each backend; exit 3 if a required one is down")
    check.add_argument("--json", action="store_true")
    check.add_argument("--timeout", type=float, default=5.0, help="seconds per server")
    serve = cmds.add_parser("serve", help="print (or --run) the vllm serve command")
    serve.add_argument("--run", action="store_true", help="run it (vLLM must be on PATH)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one ``experts`` subcommand; return the exit code."""
    from core.http import ModelClient
    from tools.availability import check_experts
    from tools.experts import load_experts
    from tools.registry import models_dir
    from tools.serve_command import planner_command, render, vllm_command

    config = load_experts(settings.experts_file)
    if args.experts_command == "list":
        rows = [e.model_dump() for e in config.experts]
        if args.json:
            _out(json.dumps(rows))
        else:
            _out(f"{'expert':28} {'task':13} {'scale':5} {'backend':7} {'model':24} required")
            for e in config.experts:
                model = e.model or e.implementation or "-"
                _out(f"{e.name:28} {e.task:13} {e.scale:5} {e.backend:7} {model:24} {e.required}")
        return 0
    if args.experts_command == "check":
        statuses = check_experts(
            config,
            lambda url: ModelClient(url, timeout_s=args.timeout, retries=0),
            models_dir(settings),
        )
        if args.json:
            _out(json.dumps([s.model_dump() for s in statuses]))
        else:
            for s in statuses:
                mark = "ok" if s.ok else ("MISSING (required)" if s.required else "unavailable")
                _out(f"{s.name:28} {s.backend:7} {mark:18} {s.detail}")
        down = [s.name for s in statuses if s.required and not s.ok]
        if down:
            msg = f"required expert(s) unavailable: {', '.join(down)}"
            raise ToolServerError(msg)
        return 0
    cmd = vllm_command(config, host=args.host, port=args.port)
    if not args.run:
        _out(render(cmd))
        planner = settings.planner_model or config.base_model
        if planner:
            port = args.port + 1
            url = f"http://{args.host}:{port}/v1"
            _out(f"# LLM planner (SMARTPATH_PLANNER_URL={url} SMARTPATH_PLANNER_MODEL={planner}):")
            _out(render(planner_command(planner, host=args.host, port=port)))
        return 0
    if shutil.which("vllm") is None:
        msg = "vllm is not on PATH: run the printed command in vLLM's own environment"
        raise ToolServerError(msg)
    sys.stdout.flush()
    os.execvp(cmd[0], cmd)  # noqa: S606 - hand the terminal to the server
    return 0  # pragma: no cover


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
