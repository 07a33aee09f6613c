"""The knowledge graph on a real ``chroma run`` server process on 127.0.0.1."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.errors import ConfigError
from core.settings import Settings
from memory.kg.build import assemble
from memory.kg.sources import read_sources
from memory.kg.store import KGStore
from tests.fixtures.kg import write_subset
from tests.fixtures.model_server import find_free_port

pytestmark = pytest.mark.shared_data


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        exe = Path(shutil.which("chroma") or "chroma")
    port = find_free_port()
    log = (tmp_path / "chroma.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603
        [
            str(exe),
            "run",
            "--path",
            str(tmp_path / "db"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma run did not answer its heartbeat in 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def test_build_and_query_through_a_chroma_server(
    tmp_path: Path, shared_data: Path, chroma_server: str
) -> None:
    source = write_subset(shared_data / "kg", tmp_path / "src", ("DOID:4947",))
    settings = Settings(home=tmp_path / "home", kg_chroma_url=chroma_server)
    store = KGStore(settings)
    graph = assemble(read_sources(source))
    report = store.build(graph)
    assert report.facts == len(graph.facts)
    assert store.where == chroma_server
    assert not (tmp_path / "home" / "kg").exists()  # nothing embedded locally
    store.close()
    fresh = KGStore(settings)  # a second client sees the same server
    try:
        assert fresh.stats().facts == len(graph.facts)
        hits = fresh.query_facts("What is cholangiocarcinoma?", k=3)
        assert "DOID:4947" in {h.fact.subject for h in hits}
        assert fresh.build(graph).embedded == 0
    finally:
        fresh.close()


def test_a_down_server_is_one_clear_error(tmp_path: Path) -> None:
    port = find_free_port()
    store = KGStore(Settings(home=tmp_path, kg_chroma_url=f"http://127.0.0.1:{port}"))
    with pytest.raises(ConfigError, match="cannot reach the knowledge graph") as info:
        store.is_built()
    assert "\n" not in str(info.value)
    store.close()


def test_a_malformed_server_url_is_refused(tmp_path: Path) -> None:
    store = KGStore(Settings(home=tmp_path, kg_chroma_url="ftp://example"))
    with pytest.raises(ConfigError, match="SMARTPATH_KG_CHROMA_URL"):
        store.is_built()
