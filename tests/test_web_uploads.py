"""Uploads: size cap, generated names, format sniffed by content, bad files rejected, not kept;
the browser's name is a label only (never URL-decoded as a path), and no message names a path."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from app.web.paths import PathRefused
from app.web.service import SessionState, WebService
from app.web.uploads import UploadRejected, accept_upload, uploaded_as
from tests.fixtures.slides import SyntheticSlide


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    incoming, uploads = tmp_path / "web-cache", tmp_path / "uploads"
    incoming.mkdir()
    return incoming, uploads


def received(source: Path, incoming: Path, name: str) -> Path:
    """Place a file where Gradio would have written the upload (a hashed subfolder)."""
    folder = incoming / "3f2a9c"
    folder.mkdir(exist_ok=True)
    return Path(shutil.copyfile(source, folder / name))


def test_a_slide_is_copied_under_a_generated_name(
    dirs: tuple[Path, Path], synthetic_slide: SyntheticSlide
) -> None:
    incoming, uploads = dirs
    got = received(synthetic_slide.path, incoming, "My Slide.TIFF")
    path = accept_upload(
        got,
        incoming=incoming,
        uploads=uploads,
        original_name="../../etc/My Slide.TIFF",
        max_bytes=10**8,
    )
    assert path.parent == uploads
    assert path.name.startswith("upload-")
    assert path.suffix == ".tiff"
    assert path.read_bytes() == synthetic_slide.path.read_bytes()


def test_a_plain_image_with_an_odd_name_keeps_no_suffix(
    dirs: tuple[Path, Path], png_file: Path
) -> None:
    incoming, uploads = dirs
    got = received(png_file, incoming, "roi.exe")
    path = accept_upload(
        got, incoming=incoming, uploads=uploads, original_name=got.name, max_bytes=10**8
    )
    assert path.suffix == ""


@pytest.mark.parametrize("bad", ["random_bytes_file", "zero_length_file"])
def test_files_that_are_no_slide_are_rejected_and_not_kept(
    dirs: tuple[Path, Path], bad: str, request: pytest.FixtureRequest
) -> None:
    incoming, uploads = dirs
    got = received(request.getfixturevalue(bad), incoming, "corrupt.svs")
    with pytest.raises(UploadRejected, match=r"^upload rejected: corrupt\.svs ") as error:
        accept_upload(
            got, incoming=incoming, uploads=uploads, original_name=got.name, max_bytes=10**8
        )
    assert "\n" not in str(error.value)
    assert "upload-" not in str(error.value)
    assert list(uploads.iterdir()) == []


@pytest.mark.shared_data
def test_a_truncated_slide_is_rejected(dirs: tuple[Path, Path], truncated_svs: Path) -> None:
    incoming, uploads = dirs
    got = received(truncated_svs, incoming, "half.svs")
    with pytest.raises(UploadRejected, match=r"^upload rejected: half\.svs "):
        accept_upload(
            got, incoming=incoming, uploads=uploads, original_name=got.name, max_bytes=10**9
        )
    assert list(uploads.iterdir()) == []


def test_the_size_cap_is_checked_before_copying(dirs: tuple[Path, Path], png_file: Path) -> None:
    incoming, uploads = dirs
    got = received(png_file, incoming, "roi.png")
    with pytest.raises(UploadRejected, match="upload limit is 0.0 MB"):
        accept_upload(
            got, incoming=incoming, uploads=uploads, original_name="roi.png", max_bytes=10
        )
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_a_received_path_outside_the_web_cache_is_refused(
    dirs: tuple[Path, Path], png_file: Path
) -> None:
    incoming, uploads = dirs
    with pytest.raises(PathRefused):
        accept_upload(
            png_file, incoming=incoming, uploads=uploads, original_name="x.png", max_bytes=10**8
        )


# The names as Gradio stores them: a real "%20" stays as it is; a browser sends '"' as %22.
@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("stored_as", "label"),
    [("CMU%20copy.svs", "CMU%20copy.svs"), ("my %22best%22 slide.svs", 'my "best" slide.svs')],
)
def test_an_upload_named_with_percent_or_quotes_is_accepted_under_a_generated_name(
    service: WebService, cmu_slide: Path, stored_as: str, label: str
) -> None:
    incoming = service.dirs.web_cache
    got = received(cmu_slide, incoming, stored_as)
    session = SessionState()
    view = service.upload(session, str(got))
    assert view.error == ""
    stored = Path(session.slide_path or "")
    assert stored.parent == service.dirs.uploads.resolve()
    assert re.fullmatch(r"upload-[0-9a-f]{16}\.svs", stored.name)
    assert stored.read_bytes() == cmu_slide.read_bytes()
    assert uploaded_as(stored, service.dirs.uploads) == f" (uploaded as {label})"
    assert uploaded_as(stored, service.dirs.uploads, markdown=True) in view.caption
    assert [p for p in incoming.rglob("*") if p.is_file()] == []  # the received copy is gone


def test_a_rejected_upload_leaves_nothing_and_names_no_server_path(
    service: WebService, random_bytes_file: Path
) -> None:
    incoming = service.dirs.web_cache
    got = received(random_bytes_file, incoming, "bad%20name %22x%22.svs")
    view = service.upload(SessionState(), str(got))
    assert view.error.startswith('upload rejected: bad%20name "x".svs')
    assert "\n" not in view.error
    assert str(service.settings.home) not in view.error
    assert not re.search(r"(^|\s|')/\w", view.error)  # no absolute path at all
    assert "upload-" not in view.error
    assert [p for p in incoming.rglob("*") if p.is_file()] == []
    assert list(incoming.iterdir()) == []  # nor the folder Gradio made for it
    assert list(service.dirs.uploads.iterdir()) == []


def test_an_upload_outside_the_web_cache_is_refused_without_its_path(
    service: WebService, png_file: Path
) -> None:
    view = service.upload(SessionState(), str(png_file))
    assert view.error == "upload refused: roi.png is not a file this app received"
    assert png_file.is_file()  # a file outside the web cache is never removed
