"""Shared fixtures: paths to ../shared/data, a clean environment, a temporary home."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.slides",
    "tests.fixtures.tiny_vlm",
    "tests.fixtures.model_server",
    "tests.fixtures.tiny_mil",
    "tests.fixtures.tiny_lora",
    "tests.fixtures.tiny_sam",
    "tests.fixtures.pypi_models",
    "tests.fixtures.kg",
    "tests.fixtures.smollm2",
    "tests.fixtures.tiny_planner_lm",
    "tests.fixtures.browser",
    "tests.fixtures.web",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(
    os.environ.get("SMARTPATH_TEST_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")
)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every SMARTPATH_* variable so each test builds its own settings."""
    for key in list(os.environ):
        if key.startswith("SMARTPATH_"):
            monkeypatch.delenv(key)


@pytest.fixture
def shared_data() -> Path:
    """Return ../shared/data, or skip when it is absent (as on a user's fresh machine)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture
def cmu_slide(shared_data: Path) -> Path:
    """Return CMU-1-Small-Region.svs: Aperio, 2220×2967, 0.499 µm/px, 20x."""
    return shared_data / "wsi" / "CMU-1-Small-Region.svs"


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """Return an empty SMARTPATH_HOME for one test."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def copilot(home: Path) -> Iterator[object]:
    """A Copilot (graph, cases database, audit log) over an empty home; closed afterwards."""
    from app.runner import Copilot
    from core.settings import Settings

    c = Copilot(Settings(home=home))
    yield c
    c.close()
