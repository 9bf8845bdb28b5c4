"""Figures with matplotlib's object-oriented API: metric with projection band, losses, class counts.

Deterministic output (fixed SVG hash salt, no dates), fonts with CJK glyphs, math text off so a
label such as `$x$` from a run is drawn literally. Labels arrive already translated.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import matplotlib
import numpy as np

matplotlib.use("Agg")
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from reporter.model import Analysis, Scale  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

STYLE: dict[RcKeyType, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"],
    "axes.unicode_minus": False,
    "svg.fonttype": "none",
    "svg.hashsalt": "reporter",
    "text.parse_math": False,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
DRAWN_BUCKETS = 600
"""A line with more points than the figure has pixels is drawn as each bucket's lowest and highest point
(in order), so spikes stay visible while the SVG stays small: 200,000 points made 21 MB SVGs."""
DRAWABLE = 1e100
"""Values of larger magnitude are left out of figures, as NaN and inf are: near the float limit (1.7e308)
matplotlib's axis transforms overflow and raise. The findings still report such values (metric.diverged)."""
MARKER_LIMIT = 80
"""Beyond this many points, markers hide the line rather than show the evaluations."""
COLOURS = {"metric": "#1f5fa8", "band": "#9ec3ea", "best": "#d9822b", "reference": "#7a7a7a",
           "loss": "#2a9d8f", "other": "#8e6cbf", "artefact": "#c0392b", "class": "#1f5fa8"}


@dataclass(frozen=True)
class Chart:
    """A drawn figure; SVG and PNG bytes are made only when a document asks for them."""

    name: str
    figure: Figure

    def svg(self) -> bytes:
        return self._saved("svg", metadata={"Date": None})

    def png(self) -> bytes:
        return self._saved("png", dpi=110, metadata={"Software": None})

    def _saved(self, form: str, **options: Any) -> bytes:
        """The figure in one format. The first save lays it out; later saves (the other format) reuse
        that layout instead of solving it again, about a third less time."""
        with matplotlib.rc_context(STYLE):
            buffer = io.BytesIO()
            self.figure.savefig(buffer, format=form, **options)
        self.figure.set_layout_engine("none")
        return buffer.getvalue()


def decimated(xs: Sequence[float], ys: Sequence[float], buckets: int = DRAWN_BUCKETS) -> tuple[list, list]:
    """The points to draw: all of them when few, else every bucket's minimum and maximum in x order."""
    if len(xs) <= 2 * buckets:
        return list(xs), list(ys)
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    keep: set[int] = set()
    for chunk in np.array_split(np.arange(len(x)), buckets):
        values = y[chunk]
        if np.isfinite(values).any():
            keep.update((int(chunk[np.nanargmin(values)]), int(chunk[np.nanargmax(values)])))
    order = sorted(keep | {0, len(x) - 1})
    return x[order].tolist(), y[order].tolist()


def drawable(values: Sequence[float]) -> list[float]:
    """The values as drawn: NaN where a value is not finite or too large to draw (see DRAWABLE)."""
    return [v if math.isfinite(v) and abs(v) < DRAWABLE else math.nan for v in values]


def _marker(count: int, marker: str) -> str | None:
    return marker if count <= MARKER_LIMIT else None


def styled_figure(width: float = 6.4, height: float = 3.0) -> Figure:
    """A blank figure in the house style, so every chart (the comparison's too) looks alike."""
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def metric_chart(a: Analysis, labels: Mapping[str, str]) -> Chart | None:
    m, data = a.metric, a.curves.metric
    if m is None or data is None or a.seeds is not None:  # final results per seed are a table, not a curve
        return None
    with matplotlib.rc_context(STYLE):
        figure = styled_figure()
        axes = figure.add_subplot()
        # Too few points or best-so-far values: markers only, so no curve is implied between them.
        joined = len(data) >= 4 and not m.best_so_far
        xs, ys = decimated(data.x.tolist(), drawable(data.values.tolist()))
        axes.plot(xs, ys, marker=_marker(len(data), "o") if joined else "o", ls="-" if joined else "none",
                  color=COLOURS["metric"], label=labels["measured"])
        p = a.projection
        if p.points:  # the band starts where the projection does: the last finite value
            start = data.finite()
            last_x, last = float(start.x[-1]), float(start.values[-1])
            xs = [last_x] + [q.epoch for q in p.points]
            axes.fill_between(xs, drawable([last] + [q.low for q in p.points]),
                              drawable([last] + [q.high for q in p.points]), color=COLOURS["band"],
                              alpha=0.5, label=labels["band"])
            axes.plot(xs, drawable([last] + [q.median for q in p.points]), ls="--",
                      color=COLOURS["metric"])
        if m.best is not None and drawable([m.best.value]) == [m.best.value]:
            axes.scatter([m.best.x], [m.best.value], s=60, color=COLOURS["best"], zorder=3, label=labels["best"])
        compare = next((f for f in a.findings if f.code == "reference.compare"), None)
        if compare is not None:
            level = compare.params["reference"] / 100 if m.scale is Scale.FRACTION else compare.params["reference"]
            axes.axhline(level, color=COLOURS["reference"], ls=":",
                         label=f"{labels['reference']}: {compare.params['method']} ({compare.params['reference_split']})")
        if a.last_epoch is not None:
            axes.axvline(a.last_epoch, color="#bbbbbb", lw=0.8)
        axes.set_xlabel(labels[a.x_unit])
        axes.set_ylabel(m.name)
        axes.legend(loc="best", fontsize=8, frameon=False)
        return Chart("metric", figure)


def loss_chart(a: Analysis, labels: Mapping[str, str]) -> Chart | None:
    if not a.curves.losses:
        return None
    with matplotlib.rc_context(STYLE):
        figure = styled_figure()
        axes = figure.add_subplot()
        for index, data in enumerate(a.curves.losses):
            finite = data.finite()
            if len(finite):
                xs, ys = decimated(finite.x.tolist(), drawable(finite.values.tolist()))
                axes.plot(xs, ys, marker=_marker(len(finite), "."), color=COLOURS["loss"] if index == 0 else None,
                          label=data.key)
        _mark_validation_minimum(axes, a, labels["val_best"])
        axes.set_xlabel(labels[a.x_unit])
        axes.set_ylabel(labels["loss"])
        axes.legend(loc="best", fontsize=8, frameon=False)
        return Chart("loss", figure)


def _mark_validation_minimum(axes: Axes, a: Analysis, label: str) -> None:
    """The paired validation loss's minimum, as the metric chart marks its best: a dot on the curve when the chart
    draws that key, else (a sum of components, not drawn) a dashed line at its epoch."""
    p = a.paired_losses
    if p is None or p.val_best is None or drawable([p.val_best.value]) != [p.val_best.value]:
        return
    if p.val_key in {c.key for c in a.curves.losses}:
        axes.scatter([p.val_best.x], [p.val_best.value], s=60, color=COLOURS["best"], zorder=3, label=label)
    else:
        axes.axvline(p.val_best.x, color=COLOURS["best"], ls="--", lw=1, label=label)


def class_chart(a: Analysis, labels: Mapping[str, str]) -> Chart | None:
    d = a.dataset
    if d is None:
        return None
    with matplotlib.rc_context(STYLE):
        figure = styled_figure(6.4, 3.2)
        axes = figure.add_subplot()
        names = [c.label for c in d.classes]
        counts = [c.count for c in d.classes]
        colours = [COLOURS["artefact"] if c.artefact else COLOURS["class"] for c in d.classes]
        axes.bar(range(len(names)), counts, color=colours)
        axes.set_xticks(range(len(names)), names, rotation=45 if len(names) > 8 else 0, ha="right")
        axes.set_yscale("log")
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axes.set_ylabel(labels["count"])
        axes.set_title(labels["classes"], fontsize=9)
        return Chart("classes", figure)


def confusion_chart(a: Analysis, labels: Mapping[str, str]) -> Chart | None:
    c = a.clustering
    if c is None:
        return None
    with matplotlib.rc_context(STYLE):
        size = min(7.0, 2.5 + 0.3 * len(c.per_class))
        figure = styled_figure(size + 1, size)
        axes = figure.add_subplot()
        matrix = [[value / max(sum(row), 1) for value in row] for row in c.confusion]
        image = axes.imshow(matrix, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        axes.set_yticks(range(len(c.per_class)), [r.label for r in c.per_class])
        axes.set_xticks(range(len(c.cluster_order)), [str(k) for k in c.cluster_order],
                        rotation=90 if len(c.cluster_order) > 12 else 0)
        axes.set_xlabel(labels["cluster"])
        axes.set_ylabel(labels["true_class"])
        figure.colorbar(image, ax=axes, label=labels["row_share"])
        return Chart("confusion", figure)


def charts(a: Analysis, labels: Mapping[str, str]) -> tuple[Chart, ...]:
    """Every chart the analysis supports, in report order."""
    made = (metric_chart(a, labels), loss_chart(a, labels), class_chart(a, labels), confusion_chart(a, labels))
    return tuple(chart for chart in made if chart is not None)
