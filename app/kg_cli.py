"""``smartpath kg build | stats | query | link``: the knowledge graph from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ConfigError

if TYPE_CHECKING:
    from app.kg_build import BuildStep
    from core.settings import Settings

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction, parser_class: type) -> None:
    """Add the ``kg`` subcommands."""
    kg = sub.add_parser("kg", help="build, inspect and query the knowledge graph")
    cmds = kg.add_subparsers(dest="kg_command", required=True, parser_class=parser_class)
    build = cmds.add_parser("build", help="build (or refresh) the graph from its sources")
    build.add_argument("--source", type=Path, help="source folder (default: SMARTPATH_KG_SOURCE)")
    build.add_argument("--json", action="store_true")
    stats = cmds.add_parser("stats", help="counts of entities and facts")
    stats.add_argument("--json", action="store_true")
    query = cmds.add_parser("query", help="facts nearest in meaning to a text")
    query.add_argument("text")
    query.add_argument("-k", type=int, default=5, help="how many facts (default 5)")
    query.add_argument("--json", action="store_true")
    link = cmds.add_parser("link", help="link a phrase to KG entities")
    link.add_argument("text")
    link.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one ``kg`` subcommand; return the exit code."""
    from app.kg_build import build_from_source, report_line, source_folder
    from memory.kg.linker import EntityLinker
    from memory.kg.store import KGStore

    store = KGStore(settings)
    if args.kg_command == "build":
        source = source_folder(settings, args.source)
        report = build_from_source(store, source, None if args.json else _progress)
        if args.json:
            _out(report.model_dump_json())
        else:
            sys.stderr.write("\n")
            _out(report_line(report, store.where))
        return 0
    if not store.is_built():
        msg = f"no knowledge graph at {store.where}; run 'smartpath kg build --source DIR'"
        raise ConfigError(msg)
    if args.kg_command == "stats":
        stats = store.stats()
        if args.json:
            _out(stats.model_dump_json())
        else:
            _out(
                f"{stats.where}: {stats.entities} entities, {stats.names} names, "
                f"{stats.facts} facts; built {stats.built_at} with {stats.embedding_model}"
            )
            for key, n in stats.by_predicate.items():
                _out(f"  facts  {key:16} {n}")
            for key, n in stats.by_kind.items():
                _out(f"  entity {key:16} {n}")
        return 0
    if args.kg_command == "query":
        hits = store.query_facts(args.text, k=args.k)
        if args.json:
            _out(json.dumps([h.model_dump() for h in hits]))
        else:
            for h in hits:
                _out(f"{h.score:.3f}  {h.fact.id}  {h.fact.text}  [{h.fact.source}]")
        return 0
    links = EntityLinker(store, settings.link_threshold).link(args.text)
    if args.json:
        _out(json.dumps([x.model_dump() for x in links]))
    else:
        if not links:
            limit = settings.link_threshold
            _out(f"no entity at or above the link score {limit} (SMARTPATH_LINK_THRESHOLD)")
        for x in links:
            _out(f"{x.score:.3f}  {x.entity}  {x.name}  ({x.kind}, {x.method})")
    return 0


def _progress(step: BuildStep) -> None:
    if step.stage not in ("names", "facts"):
        return
    label, done, total = step.stage, step.done, step.total
    width = 30
    filled = width * done // total if total else width
    bar = "#" * filled + "-" * (width - filled)
    sys.stderr.write(f"\r{label:6} [{bar}] {done}/{total}")
    sys.stderr.flush()
    if done == total:
        sys.stderr.write("\n")


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
