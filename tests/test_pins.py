"""Every pin names a package and a version, never a file or an address on one machine.

A line like ``pkg @ file:///tmp/pkg.whl`` (what ``pip freeze`` writes for a wheel installed from
disk) installs only where that file exists; on a fresh clone the README's set-up fails.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name==version, optionally with extras; the only form a constraint line may take.
_PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!_-]+\Z")
# A requirement in pyproject.toml: a name, optional extras and an optional version specifier.
_REQUIREMENT = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?\s*([<>=!~]=?[A-Za-z0-9.*+!_-]+\s*,?\s*)*\Z"
)


def _constraint_lines() -> list[str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _pyproject_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for group in project.get("optional-dependencies", {}).values():
        requirements.extend(group)
    return requirements


def test_every_constraint_is_a_name_and_a_version() -> None:
    lines = _constraint_lines()
    assert len(lines) > 100  # the whole resolved environment is pinned
    bad = [line for line in lines if not _PIN.match(line)]
    assert bad == []


def test_no_requirement_names_a_path_or_an_address() -> None:
    requirements = _pyproject_requirements()
    assert requirements
    bad = [req for req in requirements if not _REQUIREMENT.match(req.strip())]
    assert bad == []


def test_the_pin_check_rejects_what_pip_freeze_writes_for_a_local_wheel() -> None:
    frozen = "segment-anything @ file:///tmp/sam/segment_anything-1.0-py3-none-any.whl#sha256=86f6"
    assert not _PIN.match(frozen)
    assert not _REQUIREMENT.match(frozen)
    assert not _PIN.match("torch @ https://example.org/torch.whl")
    assert _PIN.match("segment-anything==1.0")
    assert _PIN.match("transformers[serving]==5.0.0")
    assert _REQUIREMENT.match("transformers[serving]")
