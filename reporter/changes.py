"""What changed since the last report: a pure comparison of two summary.json dicts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Changes:
    previous_date: str
    epochs_gained: float | None
    best_before: float | None
    best_now: float | None
    current_before: float | None
    current_now: float | None
    trend: tuple[str, str]
    status: tuple[str, str]
    new_findings: tuple[str, ...]  # codes
    resolved_findings: tuple[str, ...]
    projected_before: float | None
    projected_now: float | None


def _best(summary: dict[str, Any]) -> float | None:
    return (summary.get("best") or {}).get("value")


def _current(summary: dict[str, Any]) -> float | None:
    metric = (summary.get("primary_metric") or {}).get("name")
    return summary.get("current", {}).get(metric) if metric else None


def projected_final(summary: dict[str, Any]) -> float | None:
    points = (summary.get("projection") or {}).get("points") or []
    return points[-1]["median"] if points else None


def changes(previous_date: str, before: dict[str, Any], now: dict[str, Any]) -> Changes:
    """The differences that matter at a lab meeting, from the previous snapshot to now."""
    old_codes = {f["code"] for f in before.get("findings", [])}
    new_codes = {f["code"] for f in now.get("findings", [])}
    last_before, last_now = before.get("run", {}).get("last_epoch"), now.get("run", {}).get("last_epoch")
    return Changes(
        previous_date=previous_date,
        epochs_gained=last_now - last_before if isinstance(last_now, (int, float)) and
        isinstance(last_before, (int, float)) else None,
        best_before=_best(before), best_now=_best(now), current_before=_current(before), current_now=_current(now),
        trend=(str(before.get("trend")), str(now.get("trend"))),
        status=(str(before.get("run", {}).get("status")), str(now.get("run", {}).get("status"))),
        new_findings=tuple(sorted(new_codes - old_codes)), resolved_findings=tuple(sorted(old_codes - new_codes)),
        projected_before=projected_final(before), projected_now=projected_final(now),
    )
