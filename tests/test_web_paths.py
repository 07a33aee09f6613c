"""The web app's path rule: nothing outside the app's folders, however the path is spelled."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.web.paths import AppDirs, PathRefused, resolve_inside


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    inside = tmp_path / "home" / "artifacts"
    (inside / "case-1").mkdir(parents=True)
    (inside / "case-1" / "zoom.png").write_bytes(b"png")
    secret = tmp_path / "home" / "cases.sqlite"
    secret.write_bytes(b"db")
    (inside / "escape.png").symlink_to(secret)
    return inside, secret


def test_a_relative_file_inside_a_root_resolves(roots: tuple[Path, Path]) -> None:
    inside, _ = roots
    assert resolve_inside("case-1/zoom.png", [inside]) == (inside / "case-1" / "zoom.png").resolve()


def test_an_absolute_file_inside_is_allowed_only_when_asked(roots: tuple[Path, Path]) -> None:
    inside, _ = roots
    target = inside / "case-1" / "zoom.png"
    assert resolve_inside(target, [inside], relative_only=False) == target.resolve()
    with pytest.raises(PathRefused, match="absolute"):
        resolve_inside(str(target), [inside])


@pytest.mark.parametrize(
    "requested",
    [
        "../cases.sqlite",
        "case-1/../../cases.sqlite",
        "..%2fcases.sqlite",
        "%2e%2e/cases.sqlite",
        "%252e%252e%252fcases.sqlite",
        "..\\cases.sqlite",
        "case-1/%2E%2E/%2E%2E/cases.sqlite",
        "/etc/passwd",
        "%2fetc%2fpasswd",
        "~/.bashrc",
        "C:/Windows/win.ini",
        "case-1/zoom.png%00.txt",
        "",
        "escape.png",
        "case-1",
        "case-1/missing.png",
    ],
)
def test_escapes_and_non_files_are_refused(roots: tuple[Path, Path], requested: str) -> None:
    inside, _ = roots
    with pytest.raises(PathRefused):
        resolve_inside(requested, [inside])


@pytest.mark.parametrize("requested", ["/etc/passwd", "{secret}", "{inside}/../cases.sqlite"])
def test_absolute_paths_outside_are_refused_even_when_allowed(
    roots: tuple[Path, Path], requested: str
) -> None:
    inside, secret = roots
    path = requested.format(secret=secret, inside=inside)
    with pytest.raises(PathRefused):
        resolve_inside(path, [inside], relative_only=False)


def test_too_many_encodings_are_refused(roots: tuple[Path, Path]) -> None:
    inside, _ = roots
    deep = "zoom.png"
    for _ in range(6):
        deep = deep.replace("%", "%25") if "%" in deep else "%7a" + deep[1:]
    with pytest.raises(PathRefused, match="encoded"):
        resolve_inside(deep, [inside])


def test_app_dirs_live_under_home_and_serve_only_artifacts_and_cache(tmp_path: Path) -> None:
    from core.settings import Settings

    dirs = AppDirs.from_settings(Settings(home=tmp_path))
    dirs.ensure()
    assert all(p.is_dir() and p.parent == tmp_path for p in (dirs.uploads, dirs.web_cache))
    assert dirs.served == [tmp_path / "web-cache"]
