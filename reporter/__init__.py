"""reporter: honest, bilingual status reports for ML training runs.

The pipeline is ingest -> analyse -> present -> render -> publish; see README.md. From Python (docs/api.md):

    import reporter
    result = reporter.report("runs/exp1", languages=("en",), formats=("md",))
    analysis = reporter.analyse("runs/exp1")
    with reporter.Recorder("runs/exp2", plan={"epochs": 30}) as rec:
        rec.log({"val_acc": 0.81}, epoch=0)

Importing reporter loads no framework and none of the heavy stages: they load on the first call.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any, Sequence

from reporter import report as _pipeline_package
from reporter.api import ReportResult, RunPath, analyse, load_run
from reporter.api import report as _report
from reporter.errors import (
    ConfigError,
    DatasetError,
    HistoryError,
    InputError,
    OutputError,
    RenderError,
    ReporterError,
    UsageError,
)
from reporter.recorder import Recorder

if TYPE_CHECKING:
    from reporter.model import Analysis, Run

__version__ = "0.1.0"
__all__ = [
    "Analysis", "ConfigError", "DatasetError", "HistoryError", "InputError", "OutputError", "Recorder",
    "RenderError", "ReportResult", "ReporterError", "Run", "UsageError", "__version__", "analyse", "load_run",
    "report",
]


class _ReportPackage(types.ModuleType):
    """`reporter.report` is both the one-run pipeline package (reporter/report/) and the `report` call.

    A function bound to that name would be replaced by the package the first time any part of the
    pipeline is imported, and would break `import reporter.report.render`; so the package itself is
    made callable, and calling it is `reporter.api.report`.
    """

    def __call__(self, run: RunPath, out: RunPath = "out", languages: Sequence[str] = ("zh", "en"),
                 formats: Sequence[str] = ("md", "html", "pdf"), **options: Any) -> ReportResult:
        return _report(run, out, languages, formats, **options)


_pipeline_package.__class__ = _ReportPackage
report = _pipeline_package


def __getattr__(name: str) -> Any:
    """The typed values (Run, Analysis) load pandas, so they load when first asked for."""
    if name in ("Analysis", "Run"):
        from reporter import model

        return getattr(model, name)
    raise AttributeError(f"module 'reporter' has no attribute {name!r}")
