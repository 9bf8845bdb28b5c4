"""Dataset profile from a label file: class counts, header artefacts, imbalance, text lengths.

A label equal to a column name is a header row read as data (files concatenated with their
headers). It is counted separately and left out of the imbalance, which is what the hand-written
report got wrong (869 instead of about 39).
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from reporter.model import ClassCount, DatasetProfile, LabelTable, Run


def dataset_mismatch(run: Run) -> tuple[str, str] | None:
    """(declared, found) when run.toml names another dataset than the history's own rows or params.

    Published results are chosen by dataset name, so a wrong name silently compares a run with the
    wrong papers' numbers. Names compare without case and punctuation: 'IEMOCAP-DA' equals 'iemocap_da'.
    """
    declared, found = run.config.dataset, run.hyperparameters.get("dataset")
    if not isinstance(declared, str) or not isinstance(found, str) or not found.strip():
        return None
    return None if _name_key(declared) == _name_key(found) else (declared, found.strip())


def _name_key(name: str) -> str:
    return re.sub(r"[\W_]+", "", name).lower()


def _segments(labels: tuple[str, ...], artefacts: set[str]) -> tuple[int, ...]:
    """Sizes of the parts separated by repeated header rows (e.g. train and dev)."""
    sizes, current = [], 0
    for label in labels:
        if label in artefacts:
            sizes.append(current)
            current = 0
        else:
            current += 1
    sizes.append(current)
    return tuple(size for size in sizes if size)


def text_word_stats(texts: list[str]) -> dict[str, float] | None:
    lengths = np.array([len(text.split()) for text in texts if text.strip()])
    if not len(lengths):
        return None
    return {"mean": float(lengths.mean()), "median": float(np.median(lengths)),
            "p95": float(np.percentile(lengths, 95)), "max": float(lengths.max())}


def profile(table: LabelTable) -> DatasetProfile:
    """Counts and statistics of a label table, with header artefacts kept apart."""
    columns = {column.strip() for column in table.columns}
    counts = Counter(table.labels)
    artefacts = {label for label in counts if label in columns}
    classes = tuple(sorted((ClassCount(label, count, label in artefacts) for label, count in counts.items()),
                           key=lambda c: (-c.count, c.label)))
    real = [c for c in classes if not c.artefact]
    ratio = real[0].count / real[-1].count if real else None
    # A reader that takes no header row also counts the first line, so each artefact gains one.
    naive = [c.count + (1 if c.artefact else 0) for c in classes]
    raw_ratio = max(naive) / min(naive) if naive else None
    kept = [text for label, text in zip(table.labels, table.texts) if label not in artefacts]
    return DatasetProfile(
        path=table.path,
        n_rows=len(table.labels),
        n_samples=len(table.labels) - sum(counts[a] for a in artefacts),
        classes=classes,
        imbalance_ratio=ratio,
        raw_imbalance_ratio=raw_ratio,
        largest=real[0].label if real else None,
        smallest=real[-1].label if real else None,
        text_words=text_word_stats(kept),
        segments=_segments(table.labels, artefacts),
    )
