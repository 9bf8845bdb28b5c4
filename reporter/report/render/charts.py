"""Figures with matplotlib's object-oriented API: metric with projection band, losses, class counts.

Deterministic output (fixed SVG hash salt, no dates), fonts with CJK glyphs, math text off so a
label such as `$x$` from a run is drawn literally. Labels arrive already translated.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from reporter.model import Analysis, Scale

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

STYLE: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"],
    "axes.unicode_minus": False,
    "axes.formatter.useoffset": False,  # ticks read as the values, not as "1e-11+9.999999999e-1" plus ticks
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
PNG_DPI = 110
LABEL_WIDTH = 30
"""The y label's longest line, in Latin characters (a CJK character counts two): 9 pt type this long fits the
metric figure's height, and an 82-character key drawn on one line ran off the figure at both ends."""
MARKER_LIMIT = 80
"""Beyond this many points, markers hide the line rather than show the evaluations."""
COLOURS = {"metric": "#1f5fa8", "band": "#9ec3ea", "best": "#d9822b", "reference": "#7a7a7a",
           "loss": "#2a9d8f", "other": "#8e6cbf", "artefact": "#c0392b", "class": "#1f5fa8"}
LOSS_COLOURS = ("#2a9d8f", "#8e6cbf", "#3b5b92", "#4d4d4d", "#c2185b", "#6b8e23")
"""One colour per loss (or train/validation pair); none is the orange that marks a best value."""


def house_style() -> AbstractContextManager[None]:
    """matplotlib's settings for every figure: its own defaults, not the lab's matplotlibrc (a `savefig.bbox: tight`
    or a larger font there would reshape the figures), with the house style over them. matplotlib (half a second
    of imports) loads here, when a chart is first drawn, not when the report package is imported: `reporter --help`
    and unchanged batch runs skip it."""
    import matplotlib
    import matplotlib.style

    matplotlib.use("Agg")
    return matplotlib.style.context(["default", STYLE])


Texts = Callable[[Mapping[str, str]], None]
"""Puts one language's labels on a drawn figure: axis labels, legend entries, titles."""


def _no_texts(labels: Mapping[str, str]) -> None:
    """A figure drawn with its labels already in place (the comparison's): nothing to put on it."""


@dataclass(frozen=True)
class Chart:
    """A figure drawn once for every language; SVG and PNG bytes are made only when a document asks for them.

    Everything but the words is language-free, so a report draws each chart once and `label` swaps in each
    language's texts. Each language is then laid out again from the geometry the figure was built with, so
    its files are byte-identical to those of a figure drawn for that language alone.
    """

    name: str
    figure: Figure
    texts: Texts = _no_texts
    geometry: tuple[Any, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "geometry", tuple(axes.get_position(original=True).frozen()
                                                   for axes in self.figure.axes))

    def label(self, labels: Mapping[str, str]) -> None:
        """Puts one language's texts on the figure, to be laid out again at the next save."""
        with house_style():
            self.texts(labels)
        for axes, position in zip(self.figure.axes, self.geometry):
            axes.set_position(position)
            axes.set_in_layout(True)  # set_position takes an axes out of the layout
        self.figure.set_layout_engine("constrained")

    def svg(self) -> bytes:
        return self._saved("svg", metadata={"Date": None})

    def png(self) -> bytes:
        return self._saved("png", dpi=PNG_DPI, metadata={"Software": None})

    def _laid_out(self) -> None:
        """Solves the constrained layout once for every format, with the PNG's renderer, then removes the engine.

        Both formats then share one layout, whichever is saved first or alone (an HTML-only report's SVG laid out
        with the SVG renderer's text metrics differed from an HTML+Markdown report's). And savefig draws a figure
        that has an engine twice, the first time with drawing disabled only to lay it out: without, a report's
        charts take a sixth less time. None, not "none": that leaves a placeholder engine."""
        engine = self.figure.get_layout_engine()
        if engine is not None:
            dpi = self.figure.get_dpi()
            self.figure.set_dpi(PNG_DPI)
            engine.execute(self.figure)
            self.figure.set_dpi(dpi)
            self.figure.set_layout_engine(None)

    def _saved(self, form: str, **options: Any) -> bytes:
        with house_style():
            self._laid_out()
            buffer = io.BytesIO()
            self.figure.savefig(buffer, format=form, **options)
        return buffer.getvalue()


def decimated(xs: np.ndarray | Sequence[float], ys: np.ndarray | Sequence[float],
              buckets: int = DRAWN_BUCKETS) -> tuple[list, list]:
    """The points to draw, their values made drawable(): all of them when few, else every bucket's minimum and
    maximum (of the drawable values) in x order. Arrays in, so a million points never become Python floats."""
    if len(xs) <= 2 * buckets:
        return np.asarray(xs, dtype=float).tolist(), drawable(np.asarray(ys, dtype=float).tolist())
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    with np.errstate(invalid="ignore"):
        y = np.where(np.isfinite(y) & (np.abs(y) < DRAWABLE), y, math.nan)  # drawable(), vectorised
    sizes = np.full(buckets, len(y) // buckets)
    sizes[:len(y) % buckets] += 1  # the buckets of np.array_split
    starts, bucket = np.cumsum(sizes) - sizes, np.repeat(np.arange(buckets), sizes)
    keep = [np.array([0, len(y) - 1])]
    for extreme, missing in ((np.minimum, math.inf), (np.maximum, -math.inf)):
        filled = np.where(np.isnan(y), missing, y)
        best = extreme.reduceat(filled, starts)
        hits = np.flatnonzero((filled == best[bucket]) & np.isfinite(best)[bucket])  # a bucket of NaN has none
        keep.append(hits[np.unique(bucket[hits], return_index=True)[1]])  # its first, as np.nanargmin picks
    order = np.unique(np.concatenate(keep))
    return x[order].tolist(), y[order].tolist()


def drawable(values: Sequence[float]) -> list[float]:
    """The values as drawn: NaN where a value is not finite or too large to draw (see DRAWABLE)."""
    return [v if math.isfinite(v) and abs(v) < DRAWABLE else math.nan for v in values]


def _marker(count: int, marker: str) -> str | None:
    return marker if count <= MARKER_LIMIT else None


def _text_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fitted(text: str, width: int = LABEL_WIDTH) -> str:
    """The text over lines of at most `width` (see LABEL_WIDTH), broken after an underscore, slash, dot, hyphen
    or space where it can be, so a long metric key is read whole instead of cut off at the figure's edges."""
    lines: list[str] = []
    for piece in re.split(r"(?<=[_/.\s-])", text):
        while piece:
            if lines and _text_width(lines[-1] + piece) <= width:
                lines[-1], piece = lines[-1] + piece, ""
                continue
            cut = next((n for n in range(len(piece), 0, -1) if _text_width(piece[:n]) <= width), 1)
            lines.append(piece[:cut])
            piece = piece[cut:]
    return "\n".join(lines)


def _whole_ticks(axes: Axes, xs: np.ndarray | Sequence[float]) -> None:
    """Whole-number x ticks when every x is whole (epochs, steps): a run of three epochs was ticked at 0.5, 1.0,
    1.5, and a single evaluation at -0.04 to 0.04."""
    from matplotlib.ticker import MaxNLocator

    x = np.asarray(xs, dtype=float)
    if len(x) and np.array_equal(x, np.round(x)):
        axes.xaxis.set_major_locator(MaxNLocator("auto", steps=[1, 2, 2.5, 5, 10], integer=True))  # AutoLocator's


def styled_figure(width: float = 6.4, height: float = 3.0) -> Figure:
    """A blank figure in the house style, so every chart (the comparison's too) looks alike."""
    from matplotlib.figure import Figure

    with house_style():
        return Figure(figsize=(width, height), layout="constrained")


def _texts(axes: Axes, named: Sequence[tuple[Artist, str, str]] = (), xlabel: str | None = None,
           ylabel: str | None = None, title: str | None = None, legend: bool = True) -> Texts:
    """The texts of a one-axes chart by label key: each named artist's legend entry (key, then a language-free
    suffix), the axis labels and the title; the legend is made again from the entries."""

    def put(labels: Mapping[str, str]) -> None:
        for artist, key, suffix in named:
            artist.set_label(labels[key] + suffix)
        if xlabel is not None:
            axes.set_xlabel(labels[xlabel])
        if ylabel is not None:
            axes.set_ylabel(labels[ylabel])
        if title is not None:
            axes.set_title(labels[title], fontsize=9)
        if legend:
            axes.legend(loc="best", fontsize=8, frameon=False)

    return put


def metric_chart(a: Analysis) -> Chart | None:
    m, data = a.metric, a.curves.metric
    if m is None or data is None or a.seeds is not None:  # final results per seed are a table, not a curve
        return None
    with house_style():
        figure = styled_figure()
        axes = figure.add_subplot()
        # Too few points or best-so-far values: markers only, so no curve is implied between them.
        joined = len(data) >= 4 and not m.best_so_far
        xs, ys = decimated(data.x, data.values)
        (line,) = axes.plot(xs, ys, marker=_marker(len(data), "o") if joined else "o", ls="-" if joined else "none",
                            color=COLOURS["metric"])
        named: list[tuple[Artist, str, str]] = [(line, "measured", "")]
        p = a.projection
        if p.points:  # the band starts where the projection does: the last finite value
            start = data.finite()
            last_x, last = float(start.x[-1]), float(start.values[-1])
            xs = [last_x] + [q.epoch for q in p.points]
            band = axes.fill_between(xs, drawable([last] + [q.low for q in p.points]),
                                     drawable([last] + [q.high for q in p.points]), color=COLOURS["band"], alpha=0.5)
            named.append((band, "band", ""))
            axes.plot(xs, drawable([last] + [q.median for q in p.points]), ls="--",
                      color=COLOURS["metric"])
        if m.best is not None and drawable([m.best.value]) == [m.best.value]:
            best = axes.scatter([m.best.x], [m.best.value], s=60, color=COLOURS["best"], zorder=3)
            named.append((best, "best", ""))
        compare = next((f for f in a.findings if f.code == "reference.compare"), None)
        if compare is not None:
            level = compare.params["reference"] / 100 if m.scale is Scale.FRACTION else compare.params["reference"]
            reference = axes.axhline(level, color=COLOURS["reference"], ls=":")
            named.append((reference, "reference",
                          f": {compare.params['method']} ({compare.params['reference_split']})"))
        if a.last_epoch is not None:
            axes.axvline(a.last_epoch, color="#bbbbbb", lw=0.8)
        axes.set_ylabel(fitted(m.name))
        _whole_ticks(axes, data.x)
        return Chart("metric", figure, _texts(axes, named, xlabel=a.x_unit))


def loss_chart(a: Analysis) -> Chart | None:
    if not a.curves.losses:
        return None
    with house_style():
        figure = styled_figure()
        axes = figure.add_subplot()
        styles = _loss_styles(a)
        for data in a.curves.losses:
            finite = data.finite()
            if len(finite):
                xs, ys = decimated(finite.x, finite.values)
                colour, line = styles[data.key]
                axes.plot(xs, ys, marker=_marker(len(finite), "."), color=colour, ls=line, label=data.key)
        named = _mark_validation_minimum(axes, a)
        _whole_ticks(axes, np.concatenate([np.asarray(c.x) for c in a.curves.losses]))
        return Chart("loss", figure, _texts(axes, named, xlabel=a.x_unit, ylabel="loss"))


def _loss_styles(a: Analysis) -> dict[str, tuple[str, str]]:
    """Each drawn loss's colour and line: a validation loss takes its training twin's colour, dashed, so a pair
    reads as one colour (the first loss had the house teal and every other matplotlib's default blue, the same hue
    to the eye); unpaired losses take the next colour."""
    twin = {p.val[0]: p.train[0] for p in a.pairs if len(p.train) == len(p.val) == 1}
    anchors = list(dict.fromkeys(twin.get(d.key, d.key) for d in a.curves.losses))
    return {d.key: (LOSS_COLOURS[anchors.index(twin.get(d.key, d.key)) % len(LOSS_COLOURS)],
                    "--" if d.key in twin else "-") for d in a.curves.losses}


def _mark_validation_minimum(axes: Axes, a: Analysis) -> list[tuple[Artist, str, str]]:
    """The paired validation loss's minimum, as the metric chart marks its best: a dot on the curve when the chart
    draws that key, else (a sum of components, not drawn) a dashed line at its epoch."""
    p = a.paired_losses
    if p is None or p.val_best is None or drawable([p.val_best.value]) != [p.val_best.value]:
        return []
    if p.val_key in {c.key for c in a.curves.losses}:
        return [(axes.scatter([p.val_best.x], [p.val_best.value], s=60, color=COLOURS["best"], zorder=3),
                 "val_best", "")]
    return [(axes.axvline(p.val_best.x, color=COLOURS["best"], ls="--", lw=1), "val_best", "")]


def class_chart(a: Analysis) -> Chart | None:
    from matplotlib.ticker import FuncFormatter, LogFormatter

    d = a.dataset
    if d is None:
        return None
    with house_style():
        figure = styled_figure(6.4, 3.2)
        axes = figure.add_subplot()
        names = [c.label for c in d.classes]
        counts = [c.count for c in d.classes]
        colours = [COLOURS["artefact"] if c.artefact else COLOURS["class"] for c in d.classes]
        axes.bar(range(len(names)), counts, color=colours)
        axes.set_xticks(range(len(names)), names, rotation=45 if len(names) > 8 else 0, ha="right")
        axes.set_yscale("log")
        # The axis always reaches down to one sample, so every bar grows from the same base: a balanced dataset's
        # axis began at its smallest count, drawn as a stub beside the largest.
        axes.update_datalim([(0, 1)])
        axes.autoscale_view()
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        # Within a decade matplotlib labels minor ticks, in math text that the house style prints literally.
        axes.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False))
        title = "classes_artefacts" if any(c.artefact for c in d.classes) else "classes"  # a red bar to explain
        return Chart("classes", figure, _texts(axes, ylabel="count", title=title, legend=False))


def confusion_chart(a: Analysis) -> Chart | None:
    c = a.clustering
    if c is None:
        return None
    with house_style():
        size = min(7.0, 2.5 + 0.3 * len(c.per_class))
        figure = styled_figure(size + 1, size)
        axes = figure.add_subplot()
        matrix = [[value / max(sum(row), 1) for value in row] for row in c.confusion]
        image = axes.imshow(matrix, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        axes.set_yticks(range(len(c.per_class)), [r.label for r in c.per_class])
        axes.set_xticks(range(len(c.cluster_order)), [str(k) for k in c.cluster_order],
                        rotation=90 if len(c.cluster_order) > 12 else 0)
        colorbar = figure.colorbar(image, ax=axes)
        texts = _texts(axes, xlabel="cluster", ylabel="true_class", legend=False)

        def put(labels: Mapping[str, str]) -> None:
            texts(labels)
            colorbar.set_label(labels["row_share"])

        return Chart("confusion", figure, put)


def charts(a: Analysis) -> tuple[Chart, ...]:
    """Every chart the analysis supports, in report order, drawn once for all languages (see Chart.label)."""
    made = (metric_chart(a), loss_chart(a), class_chart(a), confusion_chart(a))
    return tuple(chart for chart in made if chart is not None)
