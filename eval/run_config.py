"""Run configuration of ``smartpath eval run --config FILE`` (YAML or TOML).

```yaml
label: llm-reasoner          # names the run in reports and comparisons
jobs: 2                      # scenarios in parallel (``--jobs`` wins)
data: ../shared/data         # data root (``--data`` wins)
settings:                    # overrides of SMARTPATH_* settings for this run
  reasoner: llm
  reasoner_url: http://127.0.0.1:8000/v1
  reasoner_model: smollm2
  experts_file: experts.toml
  expert_timeout_s: 30
```

Relative paths are relative to the configuration file. Errors name the file and line.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import ConfigError
from core.settings import Settings

__all__ = ["RunConfig", "RunConfigError", "apply_settings", "load_run_config"]

_PATH_SETTINGS = {"home", "experts_file", "kg_source", "kg_path", "embedding_model", "eval_data"}


class RunConfigError(ConfigError):
    """A run configuration that cannot be read or is invalid ("FILE:LINE: reason")."""


class RunConfig(BaseModel):
    """Label, parallelism, data root and settings overrides of one evaluation run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str | None = Field(default=None, min_length=1, max_length=80)
    jobs: int | None = Field(default=None, ge=1, le=64)
    data: Path | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    path: Path | None = Field(default=None, exclude=True)


def load_run_config(path: Path, base: Settings) -> tuple[RunConfig, Settings]:
    """Read ``path`` and return it with ``base`` settings overridden by its ``settings``.

    Raises:
        RunConfigError: unreadable, not YAML/TOML, unknown keys or invalid values (with the line).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot read the run configuration: {getattr(exc, 'strerror', None) or exc}"
        raise RunConfigError(msg) from None
    if path.suffix.lower() == ".toml":
        data, marks = _read_toml(path, text)
    else:
        data, marks = _read_yaml(path, text)
    if not isinstance(data, dict):
        msg = f"{path}:1: a run configuration is a mapping (label, jobs, data, settings)"
        raise RunConfigError(msg)
    try:
        config = RunConfig.model_validate({**data, "path": path})
    except ValidationError as exc:
        raise RunConfigError(_error(path, exc, marks)) from None
    overrides = {k: _resolve(k, v, path.parent) for k, v in config.settings.items()}
    try:
        settings = apply_settings(base, overrides)
    except ValidationError as exc:
        raise RunConfigError(_error(path, exc, marks, prefix=("settings",))) from None
    data_root = config.data
    if data_root is not None and not data_root.is_absolute():
        data_root = path.parent / data_root
    return config.model_copy(update={"settings": overrides, "data": data_root}), settings


def apply_settings(base: Settings, overrides: dict[str, Any]) -> Settings:
    """Return ``base`` with ``overrides`` applied and validated (unknown names are errors)."""
    if not overrides:
        return base
    return Settings.model_validate({**base.model_dump(), **overrides})


def _resolve(key: str, value: Any, folder: Path) -> Any:
    if key in _PATH_SETTINGS and isinstance(value, str) and value:
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (folder / path).resolve())
    return value


def _read_yaml(path: Path, text: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    from eval.suite import parse_yaml

    return parse_yaml(path, text, RunConfigError)


_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def _read_toml(path: Path, text: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: not valid TOML: {exc}"  # tomllib names the line and column itself
        raise RunConfigError(msg) from None
    marks: dict[tuple[Any, ...], int] = {(): 1}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        if m := _TABLE.match(line):
            table = tuple(p.strip().strip("\"'") for p in m.group(1).split("."))
            marks.setdefault(table, number)
        elif m := _KEY.match(line):
            marks.setdefault((*table, m.group(1)), number)
    return data, marks


def _error(
    path: Path, exc: ValidationError, marks: dict[tuple[Any, ...], int], prefix: tuple = ()
) -> str:
    error = exc.errors()[0]
    loc = (*prefix, *error["loc"])
    line = next((marks[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in marks), 1)
    where = ".".join(str(p) for p in loc) or "config"
    return f"{path}:{line}: {where}: {error['msg']}"
