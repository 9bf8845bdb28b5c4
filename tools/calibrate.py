"""Build reporter/data/projection_calibration.json from a curves corpus (default: ../shared/curves-large).

Run: python tools/calibrate.py [CURVES.jsonl]. The result ships with reporter; `reporter backtest`
measures coverage with leave-one-source-out calibrations instead, so this file is never scored on
the curves it was built from.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from reporter.backtest.backtest import calibration_errors
from reporter.backtest.curves import load_curves
from reporter.report.analysis.projection import Calibration, kind_calibration

ROOT = Path(__file__).resolve().parent.parent


def _table(table: Calibration) -> dict[str, Any]:
    return {"n": list(table.n), "table": [[round(v, 5) for v in row] for row in table.table]}


def main() -> None:
    source = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared" / "curves-large" / "curves.jsonl")
    curves = load_curves([str(source)])
    repositories = len({curve.source for curve in curves})
    table = kind_calibration([(curve.kind, calibration_errors([curve])) for curve in curves], repositories)
    out = ROOT / "reporter" / "data" / "projection_calibration.json"
    out.write_text(json.dumps({"source": f"shared/{source.parent.name}/{source.name}", "curves": len(curves),
                               "repositories": repositories,
                               "edges": [e if e != float("inf") else 1e308 for e in table.edges],
                               "levels": list(table.levels), **_table(table),
                               "by_length": [{"fewest_points": fewest, **_table(part)}
                                             for fewest, part in table.by_length],
                               "by_kind": [{"kind": kind, "curves": part.curves, **_table(part)}
                                           for kind, part in table.by_kind]}) + "\n")
    print(f"wrote {out} from {len(curves)} curves; errors per horizon bin: {table.n}")


if __name__ == "__main__":
    main()
