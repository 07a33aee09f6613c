"""How often the verifier flags a model-written chain that was changed from a true one.

True chains: the deterministic chains of real turns on the sample slide (metadata, tissue, a
view, nuclei detection and segmentation, a classification when the capricorn weights are
fetched). Each step is written the way an LLM reasoner writes it (``kind: text [ids]``) and read
back through the LLM reasoner's parser, so its numbers are bound by the same code that binds a
model's numbers. Mutations per step: every number nudged in its last digit, doubled, and
swapped for another number of the cited output; units swapped (% ↔ µm² ↔ mm²); region numbers
changed; a classifier's label replaced by another class it knows; a disease name replaced by
another. A mutation counts as flagged when the mutated step is not verified.

Run: ``.venv/bin/python benchmarks/verifier_mutations.py`` (prints a table; about a minute;
the classification needs ``smartpath models fetch`` and the entity checks ``smartpath kg build``
in ``SMARTPATH_HOME``).
"""

from __future__ import annotations

import logging
import random
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from agent.chain_parser import numbers_in, parse_steps, to_chain
from agent.state import Evidence
from agent.verifier import verify_chain
from app.runner import Copilot
from app.samples import fetch_sample
from core.settings import Settings

logger = logging.getLogger("verifier_mutations")

REQUESTS = (
    "What is the size, magnification and resolution of this slide?",
    "How much tissue is there?",
    "Zoom to the largest tissue region at 10x",
    "count the nuclei here",
    "segment the nuclei here",
    "classify this region",
    "zoom to the box [600, 1000, 1112, 1512] at 20x",
    "count the nuclei in region 2",
)
UNITS = ("%", "µm²", "mm²")
DISEASES = ("melanoma", "colorectal adenocarcinoma", "hepatocellular carcinoma", "glioblastoma")


def _numbers(text: str) -> list[tuple[int, int, str]]:
    found = []
    for shown, _value, end in numbers_in(text):
        found.append((end - len(shown), end, shown))
    return found


def _nudge(shown: str) -> str:
    if "." in shown:
        whole, frac = shown.split(".")
        last = (int(frac[-1]) + 1) % 10
        return f"{whole}.{frac[:-1]}{last}" if last else f"{int(whole) + 1}.{frac[:-1]}0"
    return str(int(shown) + 1)


def mutations(text: str, ev: Evidence, rng: random.Random) -> Iterator[tuple[str, str]]:
    """(kind, mutated text) for one step's text."""
    numbers = _numbers(text)
    output_values = sorted(
        {
            str(v) if isinstance(v, int) else f"{v:.1f}"
            for v in ev.output.values()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
    )
    for start, end, shown in numbers:
        yield "number: last digit", text[:start] + _nudge(shown) + text[end:]
        doubled = f"{2 * float(shown):g}" if float(shown) else "1"
        yield "number: doubled", text[:start] + doubled + text[end:]
        others = [v for v in output_values if v != shown]
        if others:
            yield "number: another field", text[:start] + rng.choice(others) + text[end:]
    for unit in UNITS:
        if unit in text:
            for other in UNITS:
                if other != unit:
                    yield "unit", text.replace(unit, other, 1)
    for m in re.finditer(r"region #(\d+)", text):
        wrong = str(int(m.group(1)) + 1)
        yield "region number", text[: m.start(1)] + wrong + text[m.end(1) :]
    label = ev.output.get("label")
    if isinstance(label, str) and label in text:
        classes = [c for c in (ev.output.get("probabilities") or {}) if c != label]
        for other in classes[:3]:
            yield "label", text.replace(label, other)
    for disease in DISEASES:
        if disease in text:
            other = next(d for d in DISEASES if d != disease)
            yield "entity", text.replace(disease, other)
    if not any(d in text for d in DISEASES) and "conclude" not in text[:10]:
        yield "entity: added", text.rstrip(".") + f", consistent with {rng.choice(DISEASES)}."


def main() -> int:
    """Run the turns, mutate their steps, print the share flagged per kind of mutation."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    rng = random.Random(0)
    home = Path(tempfile.mkdtemp(prefix="mutations-"))
    user = Settings()  # SMARTPATH_HOME: its fetched weights and sample are used, not changed
    if (user.home / "models").is_dir():
        (home / "models").symlink_to(user.home / "models")
    copilot = Copilot(Settings(home=home, kg_path=user.kg_dir))
    tally: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    baseline_bad = 0
    try:
        slide = fetch_sample(user.samples_dir)
        for request in REQUESTS:
            turn = copilot.ask(slide, request, "mutations")
            evidence = [Evidence.model_validate(e) for e in turn.evidence]
            by_id = {e.id: e for e in evidence}
            for step in turn.chain:
                cited = [c for c in step["evidence"] if c in by_id]
                if not step["verified"] or not cited or step["kind"] == "conclude":
                    continue
                ev = by_id[cited[0]]
                line = f"{step['kind']}: {step['text']} [{', '.join(cited)}]"
                if not _verified(line, evidence):
                    baseline_bad += 1  # the true step, as a model would write it
                    continue
                for kind, text in mutations(step["text"], ev, rng):
                    if text == step["text"]:
                        continue
                    tally[kind] += 1
                    mutated = f"{step['kind']}: {text} [{', '.join(cited)}]"
                    caught = not _verified(mutated, evidence)
                    flagged[kind] += caught
                    if not caught and "--show" in sys.argv:
                        print(f"MISSED {kind}: {text}")  # noqa: T201
    finally:
        copilot.close()
    total, caught = sum(tally.values()), sum(flagged.values())
    print("| mutation | mutations | flagged | share |")  # noqa: T201
    print("|---|---:|---:|---:|")  # noqa: T201
    for kind in sorted(tally):
        share = flagged[kind] / tally[kind]
        print(f"| {kind} | {tally[kind]} | {flagged[kind]} | {share:.1%} |")  # noqa: T201
    print(f"| all | {total} | {caught} | {caught / max(total, 1):.1%} |")  # noqa: T201
    print(f"\ntrue steps not verified when written by a model (left out): {baseline_bad}")  # noqa: T201
    return 0


def _verified(line: str, evidence: list[Evidence]) -> bool:
    chain = to_chain(parse_steps(line + "\nconclude: done."), evidence, [])
    report = verify_chain(chain, evidence, [], "done.")
    return bool(report.step_status.get("S1"))


if __name__ == "__main__":
    raise SystemExit(main())
