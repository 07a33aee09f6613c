"""The runner's parallel path with stand-in co-pilots: order kept, one case per asker at a time."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

from eval.progress import progress_reporter
from eval.runner import run_suites
from eval.suite import load_suite


class _Result:
    def __init__(self, payload: dict[str, Any]) -> None:
        self._payload = payload

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        return self._payload


class _Asker:
    """Answers with the slide's name; slower for earlier cases, so later ones finish first."""

    def __init__(self, name: str, log: list[tuple[str, str, str]]) -> None:
        self.name = name
        self.log = log
        self.busy = threading.Lock()

    def ask(self, slide: str | Path, question: str, case_id: str | None = None) -> _Result:
        assert self.busy.acquire(blocking=False), "one case at a time per co-pilot"
        try:
            stem = Path(slide).stem
            time.sleep(0.02 * (5 - int(stem[-1])))
            self.log.append((self.name, str(case_id), question))
            if stem == "s3":
                msg = "boom"
                raise RuntimeError(msg)
            return _Result(
                {
                    "case_id": case_id,
                    "request": question,
                    "answer": f"{stem}: {question}",
                    "slide": {"name": Path(slide).name},
                    "evidence": [{"id": "E1", "tool": "slide_info", "ok": True,
                                  "backend": "cpu", "output": {"n": int(stem[-1])}}],
                    "verification": {"status": "verified"},
                    "timings": {"total_s": 0.01, "tools_s": 0.0},
                }
            )  # fmt: skip
        finally:
            self.busy.release()


def test_parallel_cases_keep_suite_order(tmp_path: Path) -> None:
    cases = []
    for i in range(1, 5):
        (tmp_path / f"s{i}.png").write_bytes(b"x")
        cases.append(
            f"  - id: c{i}\n    family: f{i % 2}\n    slide: s{i}.png\n    provenance: test\n"
            "    turns:\n      - ask: first\n        expect:\n          answer:\n"
            f"            - {{kind: number, evidence: slide_info, path: n, value: {i}}}\n"
            "      - ask: second\n"
        )
    cases.append("  - id: gone\n    family: f0\n    slide: none.png\n    provenance: test\n"
                 "    turns:\n      - ask: first\n")  # fmt: skip
    (tmp_path / "s.yaml").write_text("suite: s\ncases:\n" + "".join(cases))
    suite = load_suite(tmp_path / "s.yaml", tmp_path)
    log: list[tuple[str, str, str]] = []
    progress: list[tuple[int, int, str]] = []
    askers = [_Asker("a", log), _Asker("b", log)]
    records = run_suites(
        [suite],
        askers,
        tmp_path,
        tmp_path / "runs.jsonl",
        lambda done, total, recs: progress.append((done, total, recs[0]["case"])),
    )
    expected = [(f"c{i}", t) for i in range(1, 5) for t in (1, 2)] + [("gone", None)]
    assert [(r["case"], r["turn"]) for r in records] == expected
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()
    assert len(lines) == len(expected)
    assert '"case": "c1"' in lines[0]
    assert [r["ok"] for r in records if r["turn"] == 1] == [True, True, False, True]
    assert records[4]["error"] == "internal error: RuntimeError: boom"
    assert records[5]["error"] == "internal error: RuntimeError: boom"  # later turn still ran
    assert records[-1]["status"] == "missing"
    assert {name for name, _, _ in log} == {"a", "b"}  # both co-pilots worked
    by_case: dict[str, set[str]] = {}
    for name, case_id, _ in log:
        by_case.setdefault(case_id, set()).add(name)
    assert all(len(names) == 1 for names in by_case.values())  # a case stays on one co-pilot
    assert [d for d, _, _ in progress] == [1, 2, 3, 4, 5]
    assert progress[0][1] == 5
    assert [c for _, _, c in progress] != ["c1", "c2", "c3", "c4", "gone"]  # finished out of order


def _record(case: str, ok: bool) -> dict[str, Any]:
    return {"suite": "s", "case": case, "turn": 1, "status": "answered", "ok": ok,
            "timings": {"total_s": 0.5}}  # fmt: skip


def test_progress_lines_and_bar() -> None:
    lines = io.StringIO()
    with progress_reporter(lines, bar=False) as progress:
        progress(1, 2, [_record("a", True)])
        progress(2, 2, [_record("b", False)])
    assert lines.getvalue() == "[1/2] s/a turn 1: ok (0.50 s)\n[2/2] s/b turn 1: FAILED (0.50 s)\n"
    bar = io.StringIO()
    with progress_reporter(bar, bar=True) as progress:
        progress(1, 2, [_record("a", True)])
        progress(2, 2, [_record("b", False)])
    text = bar.getvalue()
    assert "2/2" in text  # the bar reached the end
    assert "[2/2] s/b turn 1: FAILED (0.50 s)" in text  # failures keep their line
    assert "s/a turn 1: ok" not in text
    # a StringIO is no terminal: auto picks lines
    auto = io.StringIO()
    with progress_reporter(auto) as progress:
        progress(1, 1, [_record("a", True)])
    assert auto.getvalue() == "[1/1] s/a turn 1: ok (0.50 s)\n"
