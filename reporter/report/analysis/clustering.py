"""Clustering analysis from predictions: external metrics, per-class results, feature quality, agreement.

Definitions follow the UMC code: NMI, ARI, FMI from scikit-learn, ACC by Hungarian matching
(scipy.optimize.linear_sum_assignment) of clusters to classes; stored as fractions (the report shows
percent, as UMC's x100 does). scikit-learn is imported here only, so runs without predictions never
pay its import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from reporter.model import Predictions, frozen_mapping

FEATURE_SAMPLE = 5000
"""Feature-quality statistics use at most this many samples (fixed seed), so large sets stay fast."""
SEED = 0


@dataclass(frozen=True)
class ClassResult:
    label: str
    support: int
    recall: float  # share of the class in its matched cluster
    precision: float  # share of the matched cluster that is this class
    cluster: int | None  # matched cluster id, None when no cluster was matched to it


@dataclass(frozen=True)
class FeatureQuality:
    silhouette: float
    davies_bouldin: float
    calinski_harabasz: float
    intra_inter_ratio: float  # mean distance to own class centroid / mean distance between class centroids
    n_used: int
    n_total: int


@dataclass(frozen=True)
class EpochResult:
    epoch: float | None
    nmi: float
    acc: float
    agreement: float | None  # NMI between this epoch's clustering and the previous epoch's


@dataclass(frozen=True)
class ClusteringResult:
    epoch: float | None
    n_samples: int
    metrics: Mapping[str, float]
    per_class: tuple[ClassResult, ...]  # largest class first
    merges: tuple[tuple[int, tuple[str, ...]], ...]  # clusters that are the best home of several classes
    largest_cluster_share: float
    largest_class_share: float
    confusion: tuple[tuple[int, ...], ...]  # rows: classes as in per_class; columns: clusters in matched order
    cluster_order: tuple[int, ...]
    feature_quality: FeatureQuality | None
    per_epoch: tuple[EpochResult, ...]


def _codes(values: Sequence) -> tuple[np.ndarray, list]:
    uniques, codes = np.unique(np.asarray(values), return_inverse=True)
    return codes, list(uniques)


def contingency(labels: Sequence, preds: Sequence) -> tuple[np.ndarray, list, list]:
    """Counts of (class, cluster) pairs, with the class and cluster values in row/column order."""
    true_codes, classes = _codes(labels)
    pred_codes, clusters = _codes(preds)
    table = np.zeros((len(classes), len(clusters)), dtype=np.int64)
    np.add.at(table, (true_codes, pred_codes), 1)
    return table, classes, clusters


def _matching(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the one-to-one matching with the largest total count.

    scipy.optimize is imported here, not at the top: only runs with predictions need it, and it
    costs a tenth of a plain report's time to import.
    """
    from scipy.optimize import linear_sum_assignment

    return linear_sum_assignment(-table)


def hungarian_accuracy(labels: Sequence, preds: Sequence) -> float:
    """Accuracy after the one-to-one matching of clusters to classes that maximises it."""
    table, _, _ = contingency(labels, preds)
    rows, cols = _matching(table)
    return float(table[rows, cols].sum() / table.sum())


def external_metrics(labels: Sequence, preds: Sequence) -> dict[str, float]:
    from sklearn import metrics as sk

    homogeneity, completeness, v_measure = sk.homogeneity_completeness_v_measure(labels, preds)
    return {
        "nmi": float(sk.normalized_mutual_info_score(labels, preds)),
        "ari": float(sk.adjusted_rand_score(labels, preds)),
        "ami": float(sk.adjusted_mutual_info_score(labels, preds)),
        "fmi": float(sk.fowlkes_mallows_score(labels, preds)),
        "acc": hungarian_accuracy(labels, preds),
        "homogeneity": float(homogeneity), "completeness": float(completeness), "v_measure": float(v_measure),
    }


def _per_class(table: np.ndarray, classes: list, clusters: list) -> tuple[tuple[ClassResult, ...], tuple[int, ...]]:
    rows, cols = _matching(table)
    match = dict(zip(rows.tolist(), cols.tolist()))
    support, sizes = table.sum(axis=1), table.sum(axis=0)
    order = np.argsort(-support, kind="stable")
    results = []
    for i in order:
        j = match.get(int(i))
        recall = float(table[i, j] / support[i]) if j is not None else 0.0
        precision = float(table[i, j] / sizes[j]) if j is not None and sizes[j] else 0.0
        results.append(ClassResult(str(classes[i]), int(support[i]), recall, precision,
                                   int(clusters[j]) if j is not None else None))
    matched = [match[int(i)] for i in order if int(i) in match]
    rest = [j for j in range(len(clusters)) if j not in matched]
    return tuple(results), tuple(matched + rest)


def _merges(table: np.ndarray, classes: list, clusters: list) -> tuple[tuple[int, tuple[str, ...]], ...]:
    home = table.argmax(axis=1)  # the cluster holding most of each class
    merged = []
    for j in np.unique(home):
        members = [str(classes[i]) for i in np.nonzero(home == j)[0]]
        if len(members) > 1:
            merged.append((int(clusters[j]), tuple(members)))
    return tuple(merged)


def feature_quality(embeddings: np.ndarray, labels: Sequence) -> FeatureQuality | None:
    """Separation of the true classes in embedding space, on a fixed-seed sample of at most FEATURE_SAMPLE."""
    from sklearn import metrics as sk

    codes, classes = _codes(labels)
    if len(classes) < 2 or len(codes) < 3:
        return None
    data = np.asarray(embeddings, dtype=float)
    index = np.arange(len(codes))
    if len(index) > FEATURE_SAMPLE:
        index = np.sort(np.random.default_rng(SEED).choice(index, FEATURE_SAMPLE, replace=False))
    x, y = data[index], codes[index]
    if len(np.unique(y)) < 2:
        return None
    centroids = np.stack([x[y == k].mean(axis=0) for k in np.unique(y)])
    intra = float(np.mean(np.linalg.norm(x - centroids[np.searchsorted(np.unique(y), y)], axis=1)))
    gaps = np.linalg.norm(centroids[:, None, :] - centroids[None, :, :], axis=2)
    inter = float(gaps[np.triu_indices(len(centroids), 1)].mean())
    return FeatureQuality(float(sk.silhouette_score(x, y, random_state=SEED)), float(sk.davies_bouldin_score(x, y)),
                          float(sk.calinski_harabasz_score(x, y)), intra / inter if inter else float("inf"),
                          len(index), len(codes))


def _per_epoch(predictions: Sequence[Predictions]) -> tuple[EpochResult, ...]:
    from sklearn.metrics import normalized_mutual_info_score

    results, previous = [], None
    for p in predictions:
        agreement: float | None = float(normalized_mutual_info_score(previous.preds, p.preds)) \
            if previous is not None and len(previous.preds) == len(p.preds) else None
        results.append(EpochResult(p.epoch, float(normalized_mutual_info_score(p.labels, p.preds)),
                                   hungarian_accuracy(p.labels, p.preds), agreement))
        previous = p
    return tuple(results)


def analyse_clustering(predictions: Sequence[Predictions]) -> ClusteringResult | None:
    """The analysis of the last predictions, with the per-epoch track of all of them."""
    if not predictions:
        return None
    last = predictions[-1]
    table, classes, clusters = contingency(last.labels, last.preds)
    per_class, order = _per_class(table, classes, clusters)
    n = int(table.sum())
    return ClusteringResult(
        epoch=last.epoch, n_samples=n, metrics=frozen_mapping(external_metrics(last.labels, last.preds)),
        per_class=per_class, merges=_merges(table, classes, clusters),
        largest_cluster_share=float(table.sum(axis=0).max() / n), largest_class_share=float(table.sum(axis=1).max() / n),
        confusion=tuple(tuple(int(v) for v in table[np.argsort(-table.sum(axis=1), kind="stable")][i, list(order)])
                        for i in range(len(classes))),
        cluster_order=tuple(int(clusters[j]) for j in order),
        feature_quality=feature_quality(last.embeddings, last.labels) if last.embeddings is not None else None,
        per_epoch=_per_epoch(predictions),
    )
