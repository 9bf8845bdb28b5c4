"""summary.json: the stable machine-readable result of the analysis (schema 1, see DESIGN.md), as a `Summary`."""

from __future__ import annotations

import math
from typing import Any

from reporter.model import Analysis, Trend
from reporter.summary import SCHEMA, Summary


def _clean(value: Any) -> Any:
    """JSON-safe values: NaN/inf become null, tuples lists, mappings dicts."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "items"):
        return {str(k): _clean(v) for k, v in value.items()}
    if hasattr(value, "value") and isinstance(getattr(value, "value"), str):
        return value.value
    return value


def _whole(x: float | None) -> float | None:
    """An epoch as an int when it is whole: "best": {"epoch": 2}, as the findings' epoch params are written."""
    return int(x) if isinstance(x, float) and x.is_integer() else x


def _clustering(a: Analysis) -> dict[str, Any] | None:
    c = a.clustering
    if c is None:
        return None
    q = c.feature_quality
    return {
        "epoch": c.epoch, "n_samples": c.n_samples, "metrics": dict(c.metrics),
        "per_class": [{"label": r.label, "support": r.support, "recall": r.recall, "precision": r.precision}
                      for r in c.per_class],
        "feature_quality": None if q is None else {
            "silhouette": q.silhouette, "davies_bouldin": q.davies_bouldin, "calinski_harabasz": q.calinski_harabasz,
            "intra_inter_ratio": q.intra_inter_ratio, "samples_used": q.n_used, "samples": q.n_total},
        "per_epoch": [{"epoch": e.epoch, "nmi": e.nmi, "acc": e.acc, "agreement": e.agreement} for e in c.per_epoch],
    }


def _series(a: Analysis, limit: int = 200) -> dict[str, list] | None:
    """The primary metric's last values, for sparklines in the index."""
    data = a.curves.metric
    if a.metric is None or data is None:
        return None
    return {"x": data.x[-limit:].tolist(), "y": data.values[-limit:].tolist()}


def summary(a: Analysis) -> Summary:
    """The summary of one analysis, cleaned as the contract's JSON needs (NaN/inf read as null) before it is typed,
    so the value in memory is the one a later reader gets back from summary.json."""
    m = a.metric
    p = a.projection
    current: dict[str, Any] = {"epoch": _whole(a.last_epoch)}
    if a.loss is not None and a.loss.current is not None:
        current[a.loss.key] = a.loss.current.value
    if m is not None and m.current is not None:
        current[m.name] = m.current.value
    data = {
        "schema": SCHEMA,
        "run": {"id": a.run.id, "name": a.run.name, "dataset": a.run.dataset,
                "sources": [{"path": s.path, "format": s.format} for s in a.run.sources],
                "status": a.status.value, "last_epoch": _whole(a.last_epoch), "x_unit": a.x_unit,
                "planned_epochs": a.run.plan.epochs if a.run.plan else None,
                "hyperparameters": {k: v for k, v in a.run.hyperparameters.items()
                                    if isinstance(v, (str, int, float, bool)) or v is None}},
        "primary_metric": {"name": m.name, "mode": m.mode.value, "split": m.split, "scale": m.scale.value,
                           "best_so_far": m.best_so_far} if m else None,
        "current": current,
        "best": {"value": m.best.value, "epoch": _whole(m.best.x)} if m and m.best else None,
        "trend": m.trend.kind.value if m else Trend.INSUFFICIENT.value,
        "stability": m.stability.score if m else None,
        "improvements": m.improvements if m else 0,
        "degradations": m.degradations if m else 0,
        "epochs_since_best": _whole(m.epochs_since_best) if m else None,
        "projection": {"interval": p.interval,
                       "points": [{"epoch": x.epoch, "low": x.low, "median": x.median, "high": x.high} for x in p.points],
                       "asymptote": None if p.asymptote is None else
                       {"low": p.asymptote.low, "median": p.asymptote.median, "high": p.asymptote.high},
                       "method": p.method, "reason": p.reason, "backtest_error": p.backtest_error,
                       "limit": p.limit, "flatten_epoch": p.flatten_epoch, "p_beat_best": p.p_beat_best, "probabilities_at": p.chance_at,
                       "p_reach_reference": p.p_reach_target},
        "findings": [{"code": f.code, "severity": f.severity.value, "params": f.params} for f in a.findings],
        "checklist": [{"code": c.code, "status": c.status.value, "params": c.params} for c in a.checklist],
        "recommendations": [{"code": r.code, "params": r.params, "evidence": list(r.evidence),
                             "change": None if r.change is None else {
                                 "key": r.change.key, "current": r.change.current, "suggested": r.change.suggested,
                                 "present": r.change.present}} for r in a.recommendations],
        "verdict": a.verdict,
        "pairs": [{"train": list(p.train), "val": list(p.val)} for p in a.pairs],
        "thresholds": dict(a.thresholds),
        "dataset": None if a.dataset is None else {
            "path": a.dataset.path, "rows": a.dataset.n_rows, "samples": a.dataset.n_samples,
            "classes": {c.label: c.count for c in a.dataset.classes if not c.artefact},
            "artefacts": {c.label: c.count for c in a.dataset.classes if c.artefact},
            "imbalance_ratio": a.dataset.imbalance_ratio, "segments": a.dataset.segments,
            "text_words": a.dataset.text_words},
        "seeds": None if a.seeds is None else {"n": a.seeds.n, "metrics": a.seeds.metrics},
        "clustering": _clustering(a),
        "series": _series(a),
        "reference": [{"dataset": r.dataset, "method": r.method, "split": r.split, "metrics": r.metrics}
                      for r in a.reference] or None,
    }
    return Summary.from_json(_clean(data))
