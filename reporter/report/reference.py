"""Published results and the projection calibration bundled with reporter (reporter/data), read once per
process; the pipeline hands them to analysis (they are no run input, so they are not ingest's)."""

from __future__ import annotations

import csv
import functools
from dataclasses import replace
from importlib import resources
from typing import TYPE_CHECKING, Any

from reporter.model import ReferenceRow, frozen_mapping

if TYPE_CHECKING:
    from reporter.report.analysis.projection import Calibration

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


@functools.cache
def projection_calibration() -> Calibration | None:
    """The interval calibration shipped with reporter (tools/calibrate.py builds it from shared/curves-large)."""
    import json

    from reporter.report.analysis.projection import Calibration

    resource = resources.files("reporter.data").joinpath("projection_calibration.json")
    if not resource.is_file():
        return None
    data = json.loads(resource.read_text(encoding="utf-8"))
    edges, levels = tuple(float(e) for e in data["edges"]), tuple(data["levels"])

    def table(part: dict[str, Any]) -> Calibration:
        return Calibration(edges, levels, tuple(tuple(row) for row in part["table"]), tuple(part["n"]))

    return replace(table(data), curves=data.get("curves"), repositories=data.get("repositories"),
                   by_length=tuple((part["fewest_points"], table(part)) for part in data.get("by_length", ())),
                   by_kind=tuple((part["kind"], replace(table(part), curves=part["curves"]))
                                 for part in data.get("by_kind", ())))
