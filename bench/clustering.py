"""Clustering analysis on 100,000 samples x 256-dim embeddings: feature quality through sampling.

Compares our whole clustering step (metrics, per-class, feature quality on a 5,000-sample draw) with
scikit-learn's silhouette on the full set would cost (estimated from 20,000 samples: it is quadratic).
Run: make bench, or .venv/bin/python bench/clustering.py.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.metrics import silhouette_score

from reporter.model import Predictions
from reporter.report.analysis.clustering import analyse_clustering


def main() -> None:
    rng = np.random.default_rng(0)
    n, dims, classes = 100_000, 256, 12
    labels = rng.integers(0, classes, n)
    embeddings = (rng.normal(size=(n, dims)) + labels[:, None] * 0.05).astype(np.float32)
    preds = np.where(rng.random(n) < 0.7, labels, rng.integers(0, classes, n))
    item = Predictions(10.0, tuple(map(str, labels)), tuple(int(p) for p in preds), embeddings)
    start = time.perf_counter()
    result = analyse_clustering([item])
    ours = time.perf_counter() - start
    start = time.perf_counter()
    silhouette_score(embeddings[:20_000], labels[:20_000])
    full_estimate = (time.perf_counter() - start) * (n / 20_000) ** 2
    print(f"clustering analysis, {n:,} x {dims}: {ours:.2f} s (feature quality on {result.feature_quality.n_used:,} "
          f"samples)")
    print(f"silhouette on all {n:,} samples, estimated: {full_estimate:.0f} s; ratio {full_estimate / ours:.0f}x")


if __name__ == "__main__":
    main()
