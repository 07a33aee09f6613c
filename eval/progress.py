"""Progress of an evaluation run on stderr: a tqdm bar on a terminal, else one line per turn."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from eval.runner import Progress, progress_line

__all__ = ["progress_reporter"]


@contextmanager
def progress_reporter(stream: TextIO | None = None, bar: bool | None = None) -> Iterator[Progress]:
    """Yield the runner's progress callback; close the bar on exit.

    Args:
        stream: where to write (default ``sys.stderr``).
        bar: a tqdm bar (failed turns still get their line above it); None picks one when
            tqdm is installed and ``stream`` is a terminal, else a line per turn.
    """
    out = stream or sys.stderr
    if bar is None:
        bar = importlib.util.find_spec("tqdm") is not None and out.isatty()
    if not bar:

        def lines(done: int, total: int, records: list[dict[str, Any]]) -> None:
            for record in records:
                out.write(progress_line(done, total, record) + "\n")
            out.flush()

        yield lines
        return
    from tqdm import tqdm

    with tqdm(total=None, file=out, unit="case", desc="eval", dynamic_ncols=True) as pbar:

        def update(done: int, total: int, records: list[dict[str, Any]]) -> None:
            pbar.total = total
            for record in records:
                if not record["ok"]:
                    pbar.write(progress_line(done, total, record), file=out)
            failed = sum(1 for r in records if not r["ok"])
            pbar.set_postfix_str(f"{records[0]['suite']}/{records[0]['case']}" if records else "")
            pbar.update(1)
            if failed:
                pbar.set_description("eval (failures)")

        yield update
