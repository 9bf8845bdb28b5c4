"""summary.json as a typed value: `Summary.from_json` reads what any version of `publish` wrote, `to_json`
gives the contract's dict (schema 1, see DESIGN.md) key for key.

The report writes it (reporter.report.summary) and the lab reads it back from the out-store (changes, index,
digest, delivery), so both sides share one shape instead of walking dicts. The out-store keeps summaries
written by older versions: a missing or malformed key reads as its default, never as a crash. Parts no
reader looks into (thresholds, dataset, seeds, clustering, published results, finding params) stay JSON,
behind read-only views.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

SCHEMA = 1


def _frozen(value: Any) -> Any:
    """A read-only view of a JSON object, or the value itself."""
    return MappingProxyType(dict(value)) if isinstance(value, Mapping) else value


def _json(value: Any) -> Any:
    """Plain JSON again: read-only views become dicts, tuples lists (nested ones too)."""
    if isinstance(value, Mapping):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def _object(data: Any) -> Mapping[str, Any]:
    return data if isinstance(data, Mapping) else {}


def _objects(data: Any) -> list[Mapping[str, Any]]:
    return [item for item in data if isinstance(item, Mapping)] if isinstance(data, list) else []


def _mapping(data: Any = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(_object(data)))


def _optional_mapping(data: Any) -> Mapping[str, Any] | None:
    return _frozen(data) if isinstance(data, Mapping) else None


@dataclass(frozen=True)
class SourceEntry:
    path: str
    format: str


@dataclass(frozen=True)
class RunEntry:
    id: str = ""
    name: str = ""
    dataset: str | None = None
    sources: tuple[SourceEntry, ...] = ()
    status: str = "unknown"
    last_epoch: float | None = None
    x_unit: str = "epoch"  # summaries before step-indexed runs were read have none: they counted epochs
    planned_epochs: float | None = None
    hyperparameters: Mapping[str, Any] = field(default_factory=_mapping)

    @classmethod
    def from_json(cls, data: Any) -> RunEntry:
        d = _object(data)
        return cls(id=str(d.get("id", "")), name=str(d.get("name", d.get("id", ""))), dataset=d.get("dataset"),
                   sources=tuple(SourceEntry(str(s.get("path", "")), str(s.get("format", "")))
                                 for s in _objects(d.get("sources"))),
                   status=str(d.get("status", "unknown")), last_epoch=d.get("last_epoch"),
                   x_unit=str(d.get("x_unit", "epoch")), planned_epochs=d.get("planned_epochs"),
                   hyperparameters=_mapping(d.get("hyperparameters")))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "dataset": self.dataset,
                "sources": [{"path": s.path, "format": s.format} for s in self.sources], "status": self.status,
                "last_epoch": self.last_epoch, "x_unit": self.x_unit, "planned_epochs": self.planned_epochs,
                "hyperparameters": _json(self.hyperparameters)}


@dataclass(frozen=True)
class PrimaryMetric:
    name: str
    mode: str = "max"
    split: str | None = None
    scale: str = "raw"
    best_so_far: bool = False

    @classmethod
    def from_json(cls, data: Any) -> PrimaryMetric | None:
        d = _object(data)
        if "name" not in d:
            return None
        return cls(str(d["name"]), str(d.get("mode", "max")), d.get("split"), str(d.get("scale", "raw")),
                   bool(d.get("best_so_far", False)))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "mode": self.mode, "split": self.split, "scale": self.scale,
                "best_so_far": self.best_so_far}


@dataclass(frozen=True)
class BestEntry:
    value: float | None
    epoch: float | None


@dataclass(frozen=True)
class Quantiles:
    """A projected point (or the asymptote, with no epoch); None where the forecast was not finite."""

    low: float | None
    median: float | None
    high: float | None
    epoch: float | None = None

    @classmethod
    def from_json(cls, data: Any) -> Quantiles:
        d = _object(data)
        return cls(d.get("low"), d.get("median"), d.get("high"), d.get("epoch"))

    def to_json(self) -> dict[str, Any]:
        values = {"low": self.low, "median": self.median, "high": self.high}
        return values if self.epoch is None else {"epoch": self.epoch, **values}


@dataclass(frozen=True)
class ProjectionEntry:
    interval: float | None = None
    points: tuple[Quantiles, ...] = ()
    asymptote: Quantiles | None = None
    method: str = ""
    reason: str | None = None
    backtest_error: float | None = None
    limit: float | None = None
    flatten_epoch: float | None = None
    p_beat_best: float | None = None
    probabilities_at: float | None = None
    p_reach_reference: float | None = None

    @classmethod
    def from_json(cls, data: Any) -> ProjectionEntry:
        d = _object(data)
        asymptote = d.get("asymptote")
        return cls(d.get("interval"), tuple(Quantiles.from_json(p) for p in _objects(d.get("points"))),
                   Quantiles.from_json(asymptote) if isinstance(asymptote, Mapping) else None,
                   str(d.get("method", "")), d.get("reason"), d.get("backtest_error"), d.get("limit"),
                   d.get("flatten_epoch"), d.get("p_beat_best"), d.get("probabilities_at"),
                   d.get("p_reach_reference"))

    def to_json(self) -> dict[str, Any]:
        return {"interval": self.interval, "points": [p.to_json() for p in self.points],
                "asymptote": None if self.asymptote is None else self.asymptote.to_json(), "method": self.method,
                "reason": self.reason, "backtest_error": self.backtest_error, "limit": self.limit,
                "flatten_epoch": self.flatten_epoch, "p_beat_best": self.p_beat_best,
                "probabilities_at": self.probabilities_at, "p_reach_reference": self.p_reach_reference}

    @property
    def final_median(self) -> float | None:
        """The median forecast at the last projected epoch (what 'since the last report' compares)."""
        return self.points[-1].median if self.points else None


@dataclass(frozen=True)
class FindingEntry:
    code: str
    severity: str = "info"
    params: Mapping[str, Any] = field(default_factory=_mapping)


@dataclass(frozen=True)
class CheckEntry:
    code: str
    status: str = "pending"
    params: Mapping[str, Any] = field(default_factory=_mapping)


@dataclass(frozen=True)
class ChangeEntry:
    key: str
    current: Any
    suggested: Any
    present: bool


@dataclass(frozen=True)
class RecommendationEntry:
    code: str
    params: Mapping[str, Any] = field(default_factory=_mapping)
    evidence: tuple[str, ...] = ()
    change: ChangeEntry | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecommendationEntry:
        change = _object(data.get("change"))
        return cls(str(data.get("code", "")), _mapping(data.get("params")),
                   tuple(str(e) for e in data.get("evidence") or ()),
                   ChangeEntry(str(change.get("key", "")), _frozen(change.get("current")),
                               _frozen(change.get("suggested")), bool(change.get("present", False)))
                   if change else None)

    def to_json(self) -> dict[str, Any]:
        change = None if self.change is None else {"key": self.change.key, "current": _json(self.change.current),
                                                   "suggested": _json(self.change.suggested),
                                                   "present": self.change.present}
        return {"code": self.code, "params": _json(self.params), "evidence": list(self.evidence), "change": change}


@dataclass(frozen=True)
class PairEntry:
    train: tuple[str, ...]
    val: tuple[str, ...]


@dataclass(frozen=True)
class SeriesEntry:
    """The primary metric's last values, for sparklines in the index; None where a value was not finite."""

    x: tuple[float, ...]
    y: tuple[float | None, ...]


@dataclass(frozen=True)
class Summary:
    run: RunEntry = RunEntry()
    primary_metric: PrimaryMetric | None = None
    current: Mapping[str, Any] = field(default_factory=_mapping)  # "epoch" and the metric's and loss's values
    best: BestEntry | None = None
    trend: str = "insufficient_data"
    stability: float | None = None
    improvements: int = 0
    degradations: int = 0
    epochs_since_best: float | None = None
    projection: ProjectionEntry = ProjectionEntry()
    findings: tuple[FindingEntry, ...] = ()
    checklist: tuple[CheckEntry, ...] = ()
    recommendations: tuple[RecommendationEntry, ...] = ()
    verdict: str = "healthy"
    pairs: tuple[PairEntry, ...] = ()
    thresholds: Mapping[str, Any] = field(default_factory=_mapping)
    dataset: Mapping[str, Any] | None = None
    seeds: Mapping[str, Any] | None = None
    clustering: Mapping[str, Any] | None = None
    series: SeriesEntry | None = None
    reference: tuple[Mapping[str, Any], ...] | None = None
    schema: int = SCHEMA

    @property
    def current_metric(self) -> float | None:
        """The primary metric's latest value, when the summary names one."""
        return self.current.get(self.primary_metric.name) if self.primary_metric else None

    @classmethod
    def from_json(cls, data: Any) -> Summary:
        """The summary in a summary.json's dict, whichever version wrote it: missing keys read as defaults."""
        d = _object(data)
        best, series = _object(d.get("best")), _object(d.get("series"))
        reference = d.get("reference")
        return cls(
            schema=int(d.get("schema", SCHEMA)), run=RunEntry.from_json(d.get("run")),
            primary_metric=PrimaryMetric.from_json(d.get("primary_metric")), current=_mapping(d.get("current")),
            best=BestEntry(best.get("value"), best.get("epoch")) if best else None,
            trend=str(d.get("trend", "insufficient_data")), stability=d.get("stability"),
            improvements=d.get("improvements", 0), degradations=d.get("degradations", 0),
            epochs_since_best=d.get("epochs_since_best"), projection=ProjectionEntry.from_json(d.get("projection")),
            findings=tuple(FindingEntry(str(f.get("code", "")), str(f.get("severity", "info")), _mapping(f.get("params")))
                           for f in _objects(d.get("findings"))),
            checklist=tuple(CheckEntry(str(c.get("code", "")), str(c.get("status", "pending")), _mapping(c.get("params")))
                            for c in _objects(d.get("checklist"))),
            recommendations=tuple(RecommendationEntry.from_json(r) for r in _objects(d.get("recommendations"))),
            verdict=str(d.get("verdict", "healthy")),
            pairs=tuple(PairEntry(tuple(p.get("train") or ()), tuple(p.get("val") or ())) for p in _objects(d.get("pairs"))),
            thresholds=_mapping(d.get("thresholds")), dataset=_optional_mapping(d.get("dataset")),
            seeds=_optional_mapping(d.get("seeds")), clustering=_optional_mapping(d.get("clustering")),
            series=SeriesEntry(tuple(series.get("x") or ()), tuple(series.get("y") or ())) if series else None,
            reference=tuple(_frozen(r) for r in _objects(reference)) if isinstance(reference, list) else None,
        )

    def to_json(self) -> dict[str, Any]:
        """The contract's dict, keys in the order summary.json has always had them."""
        return {
            "schema": self.schema, "run": self.run.to_json(),
            "primary_metric": None if self.primary_metric is None else self.primary_metric.to_json(),
            "current": _json(self.current),
            "best": None if self.best is None else {"value": self.best.value, "epoch": self.best.epoch},
            "trend": self.trend, "stability": self.stability, "improvements": self.improvements,
            "degradations": self.degradations, "epochs_since_best": self.epochs_since_best,
            "projection": self.projection.to_json(),
            "findings": [{"code": f.code, "severity": f.severity, "params": _json(f.params)} for f in self.findings],
            "checklist": [{"code": c.code, "status": c.status, "params": _json(c.params)} for c in self.checklist],
            "recommendations": [r.to_json() for r in self.recommendations], "verdict": self.verdict,
            "pairs": [{"train": list(p.train), "val": list(p.val)} for p in self.pairs],
            "thresholds": _json(self.thresholds), "dataset": _json(self.dataset), "seeds": _json(self.seeds),
            "clustering": _json(self.clustering),
            "series": None if self.series is None else {"x": list(self.series.x), "y": list(self.series.y)},
            "reference": None if self.reference is None else [_json(r) for r in self.reference],
        }
