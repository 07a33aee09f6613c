"""Aggregate turn records into per-suite and per-family metrics and check suite thresholds."""

from __future__ import annotations

from collections.abc import Iterable
from statistics import mean
from typing import Any

from pydantic import BaseModel

from eval.scorers import classification_scores, latency_scores, ovr_auc
from eval.suite import Suite

__all__ = [
    "ThresholdResult",
    "check_thresholds",
    "classification_by_task",
    "measures_by_task",
    "metrics",
    "summarise",
]


class ThresholdResult(BaseModel):
    """One declared threshold and whether the run met it."""

    suite: str
    metric: str
    bound: str
    limit: float
    value: float | None
    ok: bool


def metrics(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Compute the metrics of a group of records (one suite, or one family of it)."""
    answered = [r for r in records if r["status"] == "answered"]
    cases = {r["case"] for r in records}
    failed_cases = {r["case"] for r in records if r["status"] != "answered" or not r["ok"]}
    keys = [k for r in answered for k in r["scores"]["keys"]]
    with_status = [r for r in answered if r["scores"]["verification_ok"] is not None]
    chains = [r["scores"]["chain"] for r in answered]
    latency = latency_scores([r["timings"] for r in answered if r.get("timings")])
    out: dict[str, Any] = {
        "cases": len(cases),
        "cases_failed": len(failed_cases),
        "cases_missing": len({r["case"] for r in records if r["status"] == "missing"}),
        "turns": len([r for r in records if r.get("turn")]),
        "turns_failed": len([r for r in records if r.get("turn") and not r["ok"]]),
        "routing_accuracy": _share(r["scores"]["routing"]["ok"] for r in answered),
        "answer_keys": len(keys),
        "answer_accuracy": _share(k["ok"] for k in keys),
        "verification_accuracy": _share(r["scores"]["verification_ok"] for r in with_status),
        "verified_share": _share(c["status"] == "verified" for c in chains),
        "steps_verified": _mean(c["steps_verified"] for c in chains),
        "citation_precision": _mean(c["citation_precision"] for c in chains),
        "citation_recall": _mean(c["citation_recall"] for c in chains),
        "entity_dice": _mean(c["entity_dice"] for c in chains),
        "latency_mean_s": latency.mean_s,
        "latency_median_s": latency.median_s,
        "latency_p95_s": latency.p95_s,
        "latency_max_s": latency.max_s,
        "tools_share": latency.tools_share,
    }
    out["classification"] = classification_by_task(keys)
    out["measures"] = measures_by_task(keys)
    return out


def classification_by_task(keys: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy, macro-F1, confusion and, where every key has probabilities, one-vs-rest AUC."""
    labelled = [k for k in keys if k.get("task") and k.get("truth") is not None]
    out: dict[str, Any] = {}
    for task in sorted({k["task"] for k in labelled}):
        own = [k for k in labelled if k["task"] == task]
        scores = classification_scores([k["truth"] for k in own], [k["pred"] for k in own])
        out[task] = scores.model_dump()
        kinds = {k.get("kind") for k in own}
        if kinds == {"choice"}:
            out[task]["option_accuracy"] = scores.accuracy
        elif kinds == {"exact"}:
            out[task]["exact_match"] = scores.accuracy
        probs = [k.get("probabilities") for k in own]
        if all(isinstance(p, dict) for p in probs):
            auc, per_class = ovr_auc([k["truth"] for k in own], probs)  # type: ignore[arg-type]
            out[task]["auc"], out[task]["per_class_auc"] = auc, per_class
    return out


_MEASURED = {"detection", "mask", "facts"}


def measures_by_task(keys: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per task of detection, mask and facts keys: each measure's mean, ``n`` keys, ``n_scored``."""
    out: dict[str, dict[str, float | None]] = {}
    measured = [k for k in keys if k.get("task") and k.get("kind") in _MEASURED]
    for task in sorted({k["task"] for k in measured}):
        own = [k for k in measured if k["task"] == task]
        scored = [k["metrics"] for k in own if k["metrics"]]
        names = sorted({name for m in scored for name in m})
        row: dict[str, float | None] = {"n": len(own), "n_scored": len(scored)}
        row.update({name: _mean(m.get(name) for m in scored) for name in names})
        out[task] = row
    return out


def summarise(suites: list[Suite], records: list[dict[str, Any]]) -> dict[str, Any]:
    """Return per-suite metrics, per-family metrics within each suite, and threshold results."""
    result: dict[str, Any] = {"suites": {}, "thresholds": []}
    for suite in suites:
        own = [r for r in records if r["suite"] == suite.suite]
        families = sorted({r["family"] for r in own})
        overall = metrics(own)
        result["suites"][suite.suite] = {
            "path": str(suite.path) if suite.path else None,
            "description": suite.description,
            "metrics": overall,
            "families": {f: metrics([r for r in own if r["family"] == f]) for f in families},
            "missing": suite.missing,
        }
        checked = check_thresholds(suite, overall)
        result["thresholds"].extend(t.model_dump() for t in checked)
    result["passed"] = all(t["ok"] for t in result["thresholds"])
    return result


def check_thresholds(suite: Suite, values: dict[str, Any]) -> list[ThresholdResult]:
    """Check a suite's ``min`` and ``max`` thresholds; a metric without a value fails."""
    results = []
    for bound, limits in (("min", suite.thresholds.min), ("max", suite.thresholds.max)):
        for name, limit in sorted(limits.items()):
            value = _metric(values, name)
            ok = value is not None and (value >= limit if bound == "min" else value <= limit)
            results.append(
                ThresholdResult(
                    suite=suite.suite, metric=name, bound=bound, limit=limit, value=value, ok=ok
                )
            )
    return results


def _metric(values: dict[str, Any], name: str) -> float | None:
    """Look up a metric by dotted name, e.g. ``classification.tissue.accuracy``."""
    value: Any = values
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return float(value) if isinstance(value, int | float) else None


def _share(flags: Iterable[bool | None]) -> float | None:
    items = [bool(f) for f in flags]
    return sum(items) / len(items) if items else None


def _mean(values: Iterable[float | None]) -> float | None:
    items = [v for v in values if v is not None]
    return mean(items) if items else None
