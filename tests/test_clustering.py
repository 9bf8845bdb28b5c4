"""Clustering metrics against scikit-learn and brute force; per-class results; findings; predictions input."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from conftest import NOW, make_run
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from reporter.errors import InputError
from reporter.model import Predictions
from reporter.report.analysis import analyse
from reporter.report.analysis.clustering import (
    analyse_clustering,
    external_metrics,
    feature_quality,
    hungarian_accuracy,
)
from reporter.report.ingest.predictions import read_predictions

labelings = st.integers(2, 60).flatmap(lambda n: st.tuples(st.lists(st.integers(0, 5), min_size=n, max_size=n),
                                                           st.lists(st.integers(0, 6), min_size=n, max_size=n)))


@settings(max_examples=200, deadline=None)
@given(labelings)
def test_metrics_equal_scikit_learn(pair) -> None:
    labels, preds = pair
    ours = external_metrics(labels, preds)
    assert ours["nmi"] == pytest.approx(sk.normalized_mutual_info_score(labels, preds))
    assert ours["ari"] == pytest.approx(sk.adjusted_rand_score(labels, preds))
    assert ours["fmi"] == pytest.approx(sk.fowlkes_mallows_score(labels, preds))
    assert 0 <= ours["acc"] <= 1


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 12).flatmap(lambda n: st.tuples(st.lists(st.integers(0, 3), min_size=n, max_size=n),
                                                      st.lists(st.integers(0, 3), min_size=n, max_size=n))))
def test_hungarian_accuracy_equals_brute_force(pair) -> None:
    labels, preds = pair
    best = max(sum(1 for t, p in zip(labels, preds) if mapping[p] == t) for mapping in
               (dict(zip(range(4), perm)) for perm in itertools.permutations(range(4))))
    assert hungarian_accuracy(labels, preds) == pytest.approx(best / len(labels))


def predictions(labels, preds, epoch=1.0, embeddings=None) -> Predictions:
    return Predictions(epoch, tuple(map(str, labels)), tuple(preds), embeddings)


def test_per_class_results_merges_and_order() -> None:
    labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    preds = [0] * 50 + [1] * 30 + [1] * 20  # c merged into b's cluster
    result = analyse_clustering([predictions(labels, preds)])
    rows = {r.label: r for r in result.per_class}
    assert [r.label for r in result.per_class] == ["a", "b", "c"]
    assert rows["a"].recall == 1.0 and rows["b"].recall == 1.0 and rows["b"].precision == 0.6
    assert rows["c"].recall == 0.0 and rows["c"].cluster is None
    assert result.merges == ((1, ("b", "c")),)
    assert result.confusion[0][0] == 50


def findings_for(labels, preds, embeddings=None) -> dict:
    run = make_run([0.1, 0.2, 0.3, 0.4], [1.0, 0.9, 0.8, 0.7])
    run = type(run)(**{**run.__dict__, "predictions": (predictions(labels, preds, embeddings=embeddings),)})
    return {f.code: f for f in analyse(run, NOW).findings}


def test_minority_lost_and_degenerate_clusters() -> None:
    labels = ["big"] * 60 + ["mid"] * 36 + ["tiny"] * 4
    preds = [0] * 96 + [0] * 4
    found = findings_for(labels, preds)
    assert found["clusters.minority_lost"].params["labels"] == ["tiny"]
    assert found["clusters.degenerate"].params["share"] == 1.0


def test_minority_recovered() -> None:
    labels = ["big"] * 96 + ["tiny"] * 4
    found = findings_for(labels, [0] * 96 + [1] * 4)
    assert "clusters.minority_recovered" in found and "clusters.minority_lost" not in found


def test_poor_feature_separation() -> None:
    rng = np.random.default_rng(0)
    labels = [0, 1] * 100
    found = findings_for(labels, labels, embeddings=rng.normal(size=(200, 8)))
    assert found["features.poor_separation"].params["silhouette"] < 0.05


def test_feature_quality_samples_large_sets() -> None:
    rng = np.random.default_rng(0)
    quality = feature_quality(rng.normal(size=(20_000, 4)), rng.integers(0, 3, 20_000))
    assert quality.n_used == 5000 and quality.n_total == 20_000


def test_consecutive_epochs_agreement() -> None:
    labels = [0, 0, 1, 1, 2, 2]
    result = analyse_clustering([predictions(labels, [0, 0, 1, 1, 2, 2], 1.0),
                                 predictions(labels, [5, 5, 6, 6, 7, 7], 2.0)])
    assert result.per_epoch[0].agreement is None and result.per_epoch[1].agreement == pytest.approx(1.0)


def test_predictions_files_are_read_without_pickles(tmp_path: Path) -> None:
    folder = tmp_path / "predictions"
    folder.mkdir()
    np.savez(folder / "epoch_2.npz", labels=np.array([0, 1, 1]), preds=np.array([1, 0, 0]))
    (folder / "epoch_1.csv").write_text("label,pred\na,0\nb,1\n")
    np.save(folder / "epoch_3.npy", np.array([(0, 1), (1, 0)], dtype=[("labels", "i4"), ("preds", "i4")]))
    found, sources = read_predictions(tmp_path)
    assert [p.epoch for p in found] == [1.0, 2.0, 3.0] and len(sources) == 3
    np.savez(folder / "final.npz", labels=np.array([object(), 1], dtype=object), preds=np.array([0, 1]))
    with pytest.raises(InputError, match="final.npz"):
        read_predictions(tmp_path)


def test_mismatched_lengths_are_refused(tmp_path: Path) -> None:
    (tmp_path / "predictions").mkdir()
    np.savez(tmp_path / "predictions" / "epoch_1.npz", labels=np.array([0, 1, 1]), preds=np.array([1, 0]))
    with pytest.raises(InputError, match="same length"):
        read_predictions(tmp_path)


def test_seed_spread_against_the_gap(tmp_path: Path) -> None:
    rows = ["NMI,ARI,ACC,fmi,dataset,method,seed"] + [f"{v},20,33,32,IEMOCAP-DA,umc,{s}"
                                                      for s, v in enumerate([22.0, 25.5, 23.0, 26.0])]
    (tmp_path / "results.csv").write_text("\n".join(rows) + "\n")
    from reporter.report.ingest import load_run
    from reporter.report.reference import published_results

    found = {f.code: f for f in analyse(load_run(str(tmp_path / "results.csv")), NOW, published_results()).findings}
    assert found["seeds.high_variance"].params["n"] == 4
