"""summary.json as a typed value: it survives the trip through JSON, reads every golden summary back byte for
byte, and reads summaries written by older versions (the out-store keeps them) without a crash."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st

from reporter.changes import changes
from reporter.lab.digest import write_digest
from reporter.lab.index import write_index
from reporter.outstore import summary_bytes
from reporter.summary import (
    BestEntry,
    ChangeEntry,
    CheckEntry,
    FindingEntry,
    PairEntry,
    PrimaryMetric,
    ProjectionEntry,
    Quantiles,
    RecommendationEntry,
    RunEntry,
    SeriesEntry,
    SourceEntry,
    Summary,
)

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

numbers = st.one_of(st.none(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False))
names = st.text(max_size=8)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=False, allow_infinity=False), names)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                            st.dictionaries(names, inner, max_size=3)), max_leaves=8)
objects = st.dictionaries(names, json_values, max_size=4).map(lambda d: MappingProxyType(d))
codes = st.sampled_from(["run.finished", "metric.plateau", "loss.flat", "x.y"])
quantiles = st.builds(Quantiles, numbers, numbers, numbers, numbers)
summaries = st.builds(
    Summary,
    run=st.builds(RunEntry, id=names, name=names, dataset=st.none() | names,
                  sources=st.lists(st.builds(SourceEntry, names, names), max_size=2).map(tuple),
                  status=st.sampled_from(["running", "finished", "crashed"]), last_epoch=numbers,
                  x_unit=st.sampled_from(["epoch", "step"]), planned_epochs=numbers, hyperparameters=objects),
    primary_metric=st.none() | st.builds(PrimaryMetric, names, st.sampled_from(["max", "min"]), st.none() | names,
                                         st.sampled_from(["fraction", "percent", "raw"]), st.booleans()),
    current=objects, best=st.none() | st.builds(BestEntry, numbers, numbers), trend=names, stability=numbers,
    improvements=st.integers(0, 99), degradations=st.integers(0, 99), epochs_since_best=numbers,
    projection=st.builds(ProjectionEntry, numbers, st.lists(quantiles, max_size=3).map(tuple),
                         st.none() | st.builds(Quantiles, numbers, numbers, numbers), names, st.none() | names,
                         numbers, numbers, numbers, numbers, numbers, numbers),
    findings=st.lists(st.builds(FindingEntry, codes, st.sampled_from(["info", "warn"]), objects), max_size=3).map(tuple),
    checklist=st.lists(st.builds(CheckEntry, codes, st.sampled_from(["pass", "n/a"]), objects), max_size=3).map(tuple),
    recommendations=st.lists(st.builds(
        RecommendationEntry, codes, objects, st.lists(codes, max_size=2).map(tuple),
        st.none() | st.builds(ChangeEntry, names, scalars, scalars, st.booleans())), max_size=2).map(tuple),
    verdict=names, pairs=st.lists(st.builds(PairEntry, st.lists(names, max_size=2).map(tuple),
                                            st.lists(names, max_size=2).map(tuple)), max_size=2).map(tuple),
    thresholds=objects, dataset=st.none() | objects, seeds=st.none() | objects, clustering=st.none() | objects,
    series=st.none() | st.builds(SeriesEntry, st.lists(st.floats(allow_nan=False), max_size=4).map(tuple),
                                 st.lists(numbers, max_size=4).map(tuple)),
    reference=st.none() | st.lists(objects, min_size=1, max_size=2).map(tuple),
)


@settings(max_examples=60, deadline=None)
@given(summaries)
def test_a_summary_survives_the_trip_through_json(s: Summary) -> None:
    assert Summary.from_json(json.loads(json.dumps(s.to_json()))) == s


def test_every_golden_summary_reads_back_byte_for_byte() -> None:
    goldens = sorted(GOLDEN.rglob("summary.json"))
    assert goldens
    for path in goldens:
        assert summary_bytes(Summary.from_json(json.loads(path.read_bytes()))) == path.read_bytes(), path


OLD = {  # a schema 1 summary as the first versions wrote it: the keys DESIGN.md names and nothing since
    "schema": 1,
    "run": {"id": "old", "name": "old run", "dataset": None, "sources": [{"path": "train.log", "format": "umc"}],
            "status": "finished", "last_epoch": 9, "planned_epochs": 9},
    "primary_metric": {"name": "nmi", "mode": "max"},
    "current": {"epoch": 9, "nmi": 0.24}, "best": {"value": 0.243, "epoch": 5}, "trend": "stable",
    "stability": 0.9, "improvements": 3, "degradations": 1, "epochs_since_best": 4,
    "projection": {"interval": 0.8, "points": [], "asymptote": None, "method": "ensemble"},
    "findings": [{"code": "run.finished", "severity": "ok", "params": {"last_epoch": 9, "planned_epochs": 9}}],
    "checklist": [], "recommendations": [], "dataset": None, "reference": None,
}


def test_an_older_summary_reads_with_defaults_for_the_keys_it_lacks() -> None:
    s = Summary.from_json(OLD)
    assert (s.run.x_unit, s.run.hyperparameters, s.verdict, s.pairs, s.series) == ("epoch", {}, "healthy", (), None)
    assert (s.primary_metric and s.primary_metric.scale, s.current_metric, s.projection.final_median) == ("raw", 0.24, None)
    assert Summary.from_json({"schema": 1}).run.status == "unknown"  # even a summary cut down to nothing


def test_the_index_and_the_digest_read_an_older_summary(tmp_path: Path) -> None:
    run = tmp_path / "old"
    for folder in (run, run / "history" / "2026-02-20"):
        folder.mkdir(parents=True)
        (folder / "summary.json").write_text(json.dumps(OLD), encoding="utf-8")
    write_index(tmp_path, ["old"], {}, NOW, ("en",))
    write_digest(tmp_path, ["old"], {}, NOW, "2026-02-23", ("en",), ("md",))
    assert "old run" in (tmp_path / "index.en.md").read_text(encoding="utf-8")
    assert "old run" in (tmp_path / "digest.en.md").read_text(encoding="utf-8")


def test_changes_compare_summaries_of_two_versions() -> None:
    newer = Summary.from_json({**OLD, "best": {"value": 0.25, "epoch": 12}, "run": {**OLD["run"], "last_epoch": 12},
                               "findings": []})
    found = changes("2026-02-20", Summary.from_json(OLD), newer)
    assert (found.epochs_gained, found.best_before, found.best_now) == (3, 0.243, 0.25)
    assert found.resolved_findings == ("run.finished",)
