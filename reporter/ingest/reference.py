"""Published results bundled with reporter (reporter/data), read once per process."""

from __future__ import annotations

import csv
import functools
from importlib import resources

from reporter.model import ReferenceRow, frozen_mapping

CITATION = ("Zhang et al., Unsupervised Multimodal Clustering for Semantics Discovery in Multimodal "
            "Utterances, ACL 2024 (thuiar/UMC README)")
METRICS = ("NMI", "ARI", "ACC", "FMI")


@functools.cache
def published_results() -> tuple[ReferenceRow, ...]:
    """Test-split results per dataset and method, in percent as published."""
    text = resources.files("reporter.data").joinpath("umc_published_results.csv").read_text(encoding="utf-8")
    return tuple(
        ReferenceRow(dataset=row["dataset"], method=row["method"], split="test",
                     metrics=frozen_mapping({m: float(row[m]) for m in METRICS}), citation=CITATION)
        for row in csv.DictReader(text.splitlines())
    )
