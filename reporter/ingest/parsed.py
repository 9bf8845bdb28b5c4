"""What one history parser returns before the run is assembled."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reporter.model import Event, LoggedStats, Plan


@dataclass
class ParsedHistory:
    """Mutable while a parser fills it; frozen into a `Run` by ingest.load_run."""

    format: str
    rows: list[tuple[str, str, float, float, float | None]] = field(default_factory=list)
    """(key, x_kind, x, value, wall_time) in file order; restarts are resolved later."""
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    splits: dict[str, str] = field(default_factory=dict)
    best_so_far_keys: set[str] = field(default_factory=set)
    logged_stats: list[LoggedStats] = field(default_factory=list)
    plan: Plan | None = None

    def add(self, key: str, x: float, value: float, x_kind: str = "epoch", wall_time: float | None = None) -> None:
        self.rows.append((key, x_kind, float(x), float(value), wall_time))
