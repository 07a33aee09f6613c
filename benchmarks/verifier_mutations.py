"""How often the verifier flags a model-written chain that was changed from a true one.

True chains: the chains of real turns (``benchmarks/mutation_chains.py``: the evaluation
suites' cases, at most ``--cases`` a suite, and a case on the CMU sample), each written the way
an LLM reasoner writes it (``kind: text [ids]``, one step a line) and read back through the
LLM reasoner's parser, so its numbers, quotes and entities are bound by the same code that
binds a model's. Every unmutated chain must verify (a false alarm otherwise). Then one step at
a time is mutated (``benchmarks/mutation_kinds.py``: numbers, units, classifier labels,
entities, region numbers, evidence ids); a mutation is flagged when the chain it is in no
longer verifies. A mutation whose changed statement is still true (a number that still shows
the value within the precision written, a correct unit conversion…) is skipped, and counted.

Run: ``.venv/bin/python benchmarks/verifier_mutations.py`` (prints the tables; runs the turns
first, a few minutes; ``--save FILE`` keeps them and ``--turns FILE`` reads them back;
``--show`` prints the misses). Classification needs ``smartpath models fetch``, the knowledge
questions and the entity checks ``smartpath kg build`` in ``SMARTPATH_HOME``; suites whose
requirements are not met are left out (logged).
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.knowledge import Knowledge  # noqa: E402
from benchmarks.mutation_chains import (  # noqa: E402
    collect_turns,
    load_turns,
    render,
    verify_text,
)
from benchmarks.mutation_kinds import step_mutations  # noqa: E402
from core.settings import Settings  # noqa: E402
from memory.kg.store import KGStore  # noqa: E402

logger = logging.getLogger("verifier_mutations")


def main(argv: list[str] | None = None) -> int:
    """Collect (or read) the turns, mutate their chains, print the share flagged per kind."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=8, help="cases run per suite (default 8)")
    parser.add_argument("--turns", type=Path, help="read the turns from this JSONL file")
    parser.add_argument("--save", type=Path, help="write the turns run to this JSONL file")
    parser.add_argument("--show", action="store_true", help="print every mutation missed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    turns = load_turns(args.turns) if args.turns else collect_turns(args.cases, args.save)
    user = Settings()
    knowledge = Knowledge(KGStore(user), user.link_threshold)
    if knowledge.problem() is not None:
        logger.warning("no knowledge graph (%s): entities cannot be checked", knowledge.problem())
        knowledge = None
    rng = random.Random(0)
    tally: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    chains = false_alarms = left_out = 0
    for turn in turns:
        if turn.status != "verified":
            left_out += 1  # not a true chain: the co-pilot itself did not verify it
            continue
        steps = [(s.kind, s.text, list(s.evidence)) for s in turn.steps]
        chains += 1
        _, report = verify_text(render(steps), turn, knowledge)
        if report.status != "verified":
            false_alarms += 1
            print(f"FALSE ALARM {turn.source}: {report.reasons}")  # noqa: T201
            continue
        evidence = {e.id: e for e in turn.all_evidence}
        facts = {f.id: f for f in turn.recalled}
        seen: set[tuple[int, str, tuple[str, ...]]] = set()
        for index, step in enumerate(turn.steps):
            for mutation in step_mutations(step, evidence, facts, rng):
                key = (index, mutation.text, tuple(mutation.cites))
                if key in seen:
                    continue  # the same change, reached by two kinds
                seen.add(key)
                if mutation.still_true is not None:
                    skipped[mutation.kind] += 1
                    continue
                changed = list(steps)
                changed[index] = (step.kind, mutation.text, mutation.cites)
                if changed == steps:
                    skipped[mutation.kind] += 1
                    continue
                tally[mutation.kind] += 1
                _, mutated = verify_text(render(changed), turn, knowledge)
                caught = mutated.status != "verified"
                flagged[mutation.kind] += caught
                if not caught and args.show:
                    cites = ", ".join(mutation.cites)
                    print(f"MISSED {mutation.kind} ({turn.source}): {mutation.text} [{cites}]")  # noqa: T201
    _table(tally, flagged, skipped)
    print(  # noqa: T201
        f"\ntrue chains: {chains} (of {len(turns)} turns; {left_out} not verified by the "
        f"co-pilot left out); unmutated chains not verified when written by a model "
        f"(false alarms): {false_alarms}"
    )
    return 0


def _table(tally: Counter[str], flagged: Counter[str], skipped: Counter[str]) -> None:
    print("| mutation | generated | still true (skipped) | counted | flagged | share |")  # noqa: T201
    print("|---|---:|---:|---:|---:|---:|")  # noqa: T201
    for kind in sorted(set(tally) | set(skipped)):
        n, s = tally[kind], skipped[kind]
        share = f"{flagged[kind] / n:.1%}" if n else "–"
        print(f"| {kind} | {n + s} | {s} | {n} | {flagged[kind]} | {share} |")  # noqa: T201
    n, s, f = sum(tally.values()), sum(skipped.values()), sum(flagged.values())
    print(f"| all | {n + s} | {s} | {n} | {f} | {f / max(n, 1):.1%} |")  # noqa: T201


if __name__ == "__main__":
    raise SystemExit(main())
