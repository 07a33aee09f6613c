"""Each package exports exactly its public names, and they import."""

from __future__ import annotations

import importlib

import pytest

EXPECTED = {
    "agent": {
        "CaseState",
        "ChainStep",
        "Claim",
        "Evidence",
        "GraphDeps",
        "Plan",
        "PlanStep",
        "ReasoningChain",
        "Settings",
        "build_graph",
        "verify_chain",
    },
    "tools": {
        "ExpertSpec",
        "ExpertsConfig",
        "ModelOutputError",
        "NucleiResult",
        "Router",
        "detect_nuclei",
        "load_experts",
        "Box",
        "RegionRead",
        "Slide",
        "SlideMetadata",
        "Tile",
        "TileReader",
        "TissueMap",
        "Tool",
        "ToolContext",
        "ToolRegistry",
        "ToolResult",
        "build_tools",
        "detect_tissue",
        "tile_grid",
    },
    "memory": {"AuditLog", "CaseRecord", "CaseStore", "new_case_id", "validate_case_id"},
    "app": {"Copilot", "TurnResult"},
    "app.web": {
        "AppDirs",
        "PathRefused",
        "UploadRejected",
        "accept_upload",
        "resolve_inside",
        "serve",
    },
    "eval": set(),
}


@pytest.mark.parametrize("package", sorted(EXPECTED))
def test_exported_members(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) == EXPECTED[package]
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_tool_contract_is_checked_when_subclassing() -> None:
    from pydantic import BaseModel

    from tools.base import Tool

    with pytest.raises(TypeError, match="description"):

        class NoDescription(Tool):  # noqa: F841
            name = "x"
            Input = BaseModel
            Output = BaseModel

            def run(self, inp, ctx):  # noqa: ANN001, ANN202
                raise NotImplementedError


def test_importing_the_web_app_neither_imports_gradio_nor_sets_its_environment() -> None:
    import subprocess
    import sys

    code = (
        "import os, sys, app.web, app.main; "
        "assert 'gradio' not in sys.modules; "
        "assert 'GRADIO_ANALYTICS_ENABLED' not in os.environ"
    )
    env = {"PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
