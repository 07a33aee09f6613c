"""Benchmark: turn latency of the web app under concurrent sessions, and that no case crosses.

Starts the real ``smartpath app`` on 127.0.0.1 over a fresh home (as the browser tests do) and
drives it with Debian's Chromium through Playwright: every session is its own browser context
(own cookies, own Gradio session) that opens a slide, the bundled sample or an upload of one of
the real slides in round-robin, and asks a 3-turn case (size and magnification; how much is
tissue; zoom to the largest tissue region at 20x). A turn's latency is measured in the browser
from the click on *Ask* until its reasoning chain is on the page; "first update" until the first
streamed line (or the answer) shows.

Runs, in one app process: a warm-up session per slide (not counted, fills the slide caches); the
reference, one session at a time, one per slide; then ``--sessions`` sessions at once. Printed:
turns, p50/p95/max turn latency, first-update p50 and wall time of both runs and their ratio,
and the same two runs in-process (threads over the app's ``WebService``, no browser or HTTP),
which shows how much of the latency is the app's own work.
Then each concurrent session is checked against the app's own records: its caption's case id is
its own and distinct; its chat shows its own slide's size and only tool calls E1.1-E3.1; the
case index and audit log of that id hold its three questions on its slide; each
image in its chat is a copy of a file of its own case; and the artifacts folder of another case
answers 403. Exit status 1 when a session failed or a check did not hold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from tests.fixtures.browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    AppProcess,
    place_sample,
    start_app,
)

WSI = Path(__file__).resolve().parents[2] / "shared" / "data" / "wsi"
QUESTIONS = (
    "What is the size, magnification and resolution?",
    "How much of it is tissue?",
    "Zoom to the largest tissue region at 20x",
)
MARKER = "Reasoning chain:"
TURN_TIMEOUT_MS = 300_000


@dataclass(frozen=True)
class SlideChoice:
    """A slide a session opens: the sample (``upload`` None) or an upload of a real slide."""

    label: str
    size: str  # "W × H pixels", as the first answer states it; identifies the slide
    upload: Path | None = None


SLIDES = (
    SlideChoice("sample CMU-1-Small-Region.svs", "2220 × 2967 pixels"),
    SlideChoice(
        "upload tcga-cr-7395-01a-01-ts1.svs",
        "4443 × 3567 pixels",
        WSI / "tcga-cr-7395-01a-01-ts1.svs",
    ),
    SlideChoice("upload kidney-48-5.tif", "1493 × 901 pixels", WSI / "kidney-48-5.tif"),
)


@dataclass
class SessionRun:
    """What one browser session did and saw."""

    slide: SlideChoice
    latencies: list[float] = field(default_factory=list)
    first_update: list[float] = field(default_factory=list)
    case_id: str = ""
    chat: str = ""
    images: list[str] = field(default_factory=list)
    image_bytes: dict[str, bytes] = field(default_factory=dict)
    error: str = ""


async def run_session(browser: object, url: str, slide: SlideChoice) -> SessionRun:
    """Open ``slide`` in a fresh context, ask the three questions, collect what the page shows."""
    run = SessionRun(slide)
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    try:
        page = await context.new_page()
        page.set_default_timeout(TURN_TIMEOUT_MS)
        await page.goto(url)
        if slide.upload is None:
            await page.get_by_role("button", name="Open sample").click()
        else:
            async with page.expect_file_chooser() as chooser:
                await page.get_by_role("button", name="Upload slide").click()
            await (await chooser.value).set_files(str(slide.upload))
        await page.locator("#slide-caption").get_by_text(re.compile(r" px · ")).wait_for()
        for n, question in enumerate(QUESTIONS, 1):
            await page.locator("#question textarea").fill(question)
            started = time.perf_counter()
            await page.locator("#ask").click()
            await page.wait_for_function(
                """([marker, n]) => {
                    const text = document.querySelector('#chat').innerText;
                    return text.includes('Working:') || text.split(marker).length - 1 >= n;
                }""",
                arg=[MARKER, n],
                polling=50,
            )
            run.first_update.append(time.perf_counter() - started)
            await page.wait_for_function(
                "([marker, n]) => document.querySelector('#chat').innerText"
                ".split(marker).length - 1 >= n",
                arg=[MARKER, n],
                polling=50,
            )
            run.latencies.append(time.perf_counter() - started)
        caption = await page.locator("#slide-caption").inner_text()
        found = re.search(r"Case: (case-[\w-]+)", caption)
        run.case_id = found.group(1) if found else ""
        run.chat = await page.locator("#chat").inner_text()
        run.images = await page.locator("#chat img").evaluate_all("(imgs) => imgs.map(i => i.src)")
        for src in run.images:
            reply = await context.request.get(src)
            run.image_bytes[src] = await reply.body() if reply.ok else b""
    except Exception as exc:  # reported in the table, the run goes on
        run.error = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    finally:
        await context.close()
    return run


async def run_all(
    app: AppProcess, sessions: int
) -> tuple[list[SessionRun], float, list[SessionRun], float]:
    """Warm up, then the one-at-a-time reference, then ``sessions`` at once."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            for slide in SLIDES:
                warm = await run_session(browser, app.url, slide)
                if warm.error:
                    sys.stderr.write(f"warm-up on {slide.label} failed: {warm.error}\n")
            started = time.perf_counter()
            single = [await run_session(browser, app.url, slide) for slide in SLIDES]
            single_wall = time.perf_counter() - started
            started = time.perf_counter()
            chosen = [SLIDES[i % len(SLIDES)] for i in range(sessions)]
            concurrent = await asyncio.gather(
                *(run_session(browser, app.url, slide) for slide in chosen)
            )
            concurrent_wall = time.perf_counter() - started
        finally:
            await browser.close()
    return single, single_wall, list(concurrent), concurrent_wall


def in_process(
    home: Path, sample: Path, sessions: int
) -> tuple[list[SessionRun], float, list[SessionRun], float]:
    """The same sessions without browser or HTTP: threads over one ``WebService``.

    Separates the app's own work (graph, tools, rendering the chat) from what the browsers and
    Gradio's transport add. Warm-up, one at a time, then ``sessions`` threads at once.
    """
    from concurrent.futures import ThreadPoolExecutor

    from app.runner import Copilot
    from app.web.paths import AppDirs
    from app.web.service import SessionState, WebService
    from core.settings import Settings

    settings = Settings(home=home)
    dirs = AppDirs.from_settings(settings)
    dirs.ensure()
    service = WebService(Copilot(settings), dirs, settings)

    def one(slide: SlideChoice) -> SessionRun:
        run = SessionRun(slide)
        session = SessionState()
        view = service._open(session, slide.upload or sample)
        if view.error:
            run.error = view.error
            return run
        for question in QUESTIONS:
            started = time.perf_counter()
            for n, _ in enumerate(service.ask_stream(session, question)):
                if n == 0:
                    run.first_update.append(time.perf_counter() - started)
            service.view(session)
            run.latencies.append(time.perf_counter() - started)
        run.case_id = session.case_id or ""
        return run

    try:
        for slide in SLIDES:
            one(slide)
        started = time.perf_counter()
        single = [one(slide) for slide in SLIDES]
        single_wall = time.perf_counter() - started
        started = time.perf_counter()
        with ThreadPoolExecutor(sessions) as pool:
            runs = list(pool.map(one, [SLIDES[i % len(SLIDES)] for i in range(sessions)]))
        wall = time.perf_counter() - started
    finally:
        service.copilot.close()
    return single, single_wall, runs, wall


def check_isolation(app: AppProcess, runs: list[SessionRun]) -> list[str]:
    """Return what does not hold: each session sees and owns its own case only."""
    import httpx

    problems: list[str] = []
    ids = [r.case_id for r in runs]
    if len(set(ids)) != len(ids) or "" in ids:
        problems.append(f"case ids not distinct: {ids}")
    sizes = {s.size for s in SLIDES}
    db = sqlite3.connect(app.home / "cases.sqlite")
    try:
        index = {
            row[0]: row[1:] for row in db.execute("SELECT case_id, turns, slide_id FROM cases")
        }
    finally:
        db.close()
    for n, run in enumerate(runs, 1):
        where = f"session {n} ({run.slide.label}, {run.case_id})"
        if run.error:
            problems.append(f"{where}: {run.error}")
            continue
        if run.slide.size not in run.chat:
            problems.append(f"{where}: its slide's size is not in its chat")
        if any(other in run.chat for other in sizes - {run.slide.size}):
            problems.append(f"{where}: another slide's size is in its chat")
        calls = sorted(set(re.findall(r"Tool call (E\d+\.\d+)", run.chat)))
        if calls != ["E1.1", "E2.1", "E3.1"]:
            problems.append(f"{where}: tool calls {calls}, expected E1.1, E2.1, E3.1")
        if index.get(run.case_id, (0,))[0] != len(QUESTIONS):
            problems.append(f"{where}: case index says {index.get(run.case_id)}")
        audit = app.home / "audit" / f"{run.case_id}.jsonl"
        records = [json.loads(x) for x in audit.read_text().splitlines()] if audit.exists() else []
        asked = [r.get("request") for r in records if r.get("kind") == "request"]
        slide_ids = {
            r.get("slide", {}).get("slide_id") for r in records if r.get("kind") == "request"
        }
        if asked != list(QUESTIONS) or len(slide_ids) != 1:
            problems.append(f"{where}: audit log holds {asked} on slides {slide_ids}")
        if slide_ids and index.get(run.case_id, (0, None))[1] not in slide_ids:
            problems.append(f"{where}: case index slide differs from the audit log's")
        own = app.home / "artifacts" / run.case_id
        own_files = {p.read_bytes() for p in own.iterdir()} if own.is_dir() else set()
        if not run.images:
            problems.append(f"{where}: no image in its chat")
        for src, data in run.image_bytes.items():
            if not data or data not in own_files:
                problems.append(f"{where}: image {src.rsplit('/', 1)[-1]} is not its own case's")
    for n in range(len(runs)):
        other = runs[(n + 1) % len(runs)]
        folder = app.home / "artifacts" / other.case_id
        for artifact in sorted(folder.glob("*.png"))[:1] if folder.is_dir() else []:
            reply = httpx.get(f"{app.url}gradio_api/file={artifact}", timeout=30)
            if reply.status_code != 403:
                problems.append(
                    f"another case's artifact {artifact.name} answered {reply.status_code}"
                )
    return problems


def stats(runs: list[SessionRun], wall: float) -> tuple[int, float, float, float, float, float]:
    """Turns, p50, p95 and max latency, first-update p50, and the wall time of a run."""
    lat = [x for r in runs for x in r.latencies]
    first = [x for r in runs for x in r.first_update]
    if not lat:
        return 0, float("nan"), float("nan"), float("nan"), float("nan"), wall
    return (
        len(lat),
        float(np.percentile(lat, 50)),
        float(np.percentile(lat, 95)),
        max(lat),
        float(np.percentile(first, 50)),
        wall,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table; 1 when a session failed or a check did not hold."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8, help="concurrent sessions (8)")
    parser.add_argument(
        "--no-in-process",
        action="store_true",
        help="skip the reference without browser and HTTP (threads over the app's service)",
    )
    args = parser.parse_args(argv)
    for slide in SLIDES:
        if slide.upload is not None and not slide.upload.is_file():
            sys.stderr.write(f"bench_web_load: missing slide {slide.upload}\n")
            return 2
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        home = Path(tmp) / "home"
        place_sample(home)
        app = start_app(home)
        try:
            single, single_wall, runs, wall = asyncio.run(run_all(app, args.sessions))
            problems = check_isolation(app, runs)
        finally:
            app.stop()
        local = None
        if not args.no_in_process:
            local = in_process(Path(tmp) / "in-process", place_sample(home), args.sessions)
    print(
        f"web load: {args.sessions} browser sessions x {len(QUESTIONS)} turns on "
        f"{len(SLIDES)} slides (sample + 2 uploads), Chromium via Playwright, one app process"
    )
    print(
        f"{'run':<22}{'sessions':>9}{'turns':>7}{'p50 s':>8}{'p95 s':>8}{'max s':>8}"
        f"{'first p50 s':>13}{'wall s':>8}"
    )
    rows = [("one at a time", len(single), stats(single, single_wall))]
    rows.append((f"{args.sessions} at once", len(runs), stats(runs, wall)))
    if local is not None:
        rows.append(("in-process, one", len(local[0]), stats(local[0], local[1])))
        rows.append((f"in-process, {args.sessions}", len(local[2]), stats(local[2], local[3])))
    for name, count, (turns, p50, p95, top, first, w) in rows:
        print(
            f"{name:<22}{count:>9}{turns:>7}{p50:>8.2f}{p95:>8.2f}{top:>8.2f}{first:>13.2f}{w:>8.1f}"
        )
    ref, load = rows[0][2], rows[1][2]
    print(f"ratio at once / one at a time: p50 {load[1] / ref[1]:.2f}, p95 {load[2] / ref[2]:.2f}")
    print(f"{'question':<52}{'one p50 s':>11}{'at once p50 s':>15}")
    for i, question in enumerate(QUESTIONS):
        one = [r.latencies[i] for r in single if len(r.latencies) > i]
        many = [r.latencies[i] for r in runs if len(r.latencies) > i]
        print(
            f"{question:<52}{np.median(one) if one else float('nan'):>11.2f}"
            f"{np.median(many) if many else float('nan'):>15.2f}"
        )
    if local is not None:
        ref, load = rows[2][2], rows[3][2]
        print(f"ratio in-process: p50 {load[1] / ref[1]:.2f}, p95 {load[2] / ref[2]:.2f}")
        single, runs = single + local[0], runs + local[2]
    failed = [r for r in single + runs if r.error]
    completed = sum(1 for r in runs if not r.error and len(r.latencies) == len(QUESTIONS))
    print(f"completed all turns: {completed}/{len(runs)} of the sessions run at once")
    if problems or failed:
        for line in problems or [r.error for r in failed]:
            print(f"isolation/failure: {line}")
        return 1
    print(
        "isolation: every session has its own case id; its chat shows only its slide and tool "
        "calls E1.1-E3.1; index and audit log hold its own 3 questions on its slide; "
        "its images are its own case's files; another case's artifacts/ path answers 403"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
