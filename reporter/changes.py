"""What changed since the last report: a pure comparison of two summaries."""

from __future__ import annotations

from dataclasses import dataclass

from reporter.summary import Summary


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


def changes(previous_date: str, before: Summary, now: Summary) -> Changes:
    """The differences that matter at a lab meeting, from the previous snapshot to now."""
    old_codes = {f.code for f in before.findings}
    new_codes = {f.code for f in now.findings}
    last_before, last_now = before.run.last_epoch, now.run.last_epoch
    return Changes(
        previous_date=previous_date,
        epochs_gained=last_now - last_before if isinstance(last_now, (int, float)) and
        isinstance(last_before, (int, float)) else None,
        best_before=before.best.value if before.best else None, best_now=now.best.value if now.best else None,
        current_before=before.current_metric, current_now=now.current_metric,
        trend=(before.trend, now.trend),
        status=(before.run.status, now.run.status),
        new_findings=tuple(sorted(new_codes - old_codes)), resolved_findings=tuple(sorted(old_codes - new_codes)),
        projected_before=before.projection.final_median, projected_now=now.projection.final_median,
    )
