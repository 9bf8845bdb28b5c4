"""A small real clustering run: k-means on scikit-learn's digits set, one predictions file per epoch.

Each "epoch" runs k-means from the same random start for one more iteration (max_iter = epoch), on a
16-dimensional PCA of the 1,797 8x8 digit images, and writes what a training loop would write:
- predictions/epoch_<N>.npz with `labels` (true digits) and `preds` (cluster ids); the last epoch also
  holds `embeddings` (the PCA features);
- metrics.csv with epoch, loss (k-means inertia) and nmi as the loop logged it.
The data ships with scikit-learn (no download). Run: python examples/make_digits_example.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.metrics import normalized_mutual_info_score

HERE = Path(__file__).resolve().parent / "digits-kmeans"
EPOCHS = 10


def main() -> None:
    digits = load_digits()
    features = PCA(n_components=16, random_state=0).fit_transform(digits.data).astype(np.float32)
    labels = digits.target.astype(np.int16)
    (HERE / "predictions").mkdir(parents=True, exist_ok=True)
    rows = ["epoch,loss,nmi"]
    for epoch in range(1, EPOCHS + 1):
        model = KMeans(n_clusters=10, init="random", n_init=1, max_iter=epoch, random_state=3).fit(features)
        preds = model.labels_.astype(np.int16)
        arrays = {"labels": labels, "preds": preds}
        if epoch == EPOCHS:
            arrays["embeddings"] = features
        np.savez_compressed(HERE / "predictions" / f"epoch_{epoch}.npz", **arrays)
        rows.append(f"{epoch},{model.inertia_:.2f},{normalized_mutual_info_score(labels, preds):.4f}")
    (HERE / "metrics.csv").write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
