"""What the charts draw: long lines decimated without losing their extremes, each figure drawn once for every
language."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reporter
from reporter.report.render import chart_labels
from reporter.report.render.charts import charts, decimated, drawable, fitted, house_style

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

values = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=5000)


@settings(max_examples=100, deadline=None)
@given(values, st.integers(2, 300))
def test_decimated_keeps_order_ends_and_extremes(ys: list[float], buckets: int) -> None:
    xs = [float(i) for i in range(len(ys))]
    dx, dy = decimated(xs, ys, buckets)
    assert dx == sorted(dx) and set(dx) <= set(xs) and all(ys[int(x)] == y for x, y in zip(dx, dy))
    assert dx[0] == xs[0] and dx[-1] == xs[-1]
    assert max(dy) == max(ys) and min(dy) == min(ys)
    assert len(dx) <= max(len(xs) if len(xs) <= 2 * buckets else 0, 2 * buckets + 2)


unruly = st.lists(st.one_of(st.floats(-1e6, 1e6), st.sampled_from([1e150, -1e120, np.inf, -np.inf, np.nan])),
                  min_size=1, max_size=400)


@settings(max_examples=60, deadline=None)
@given(unruly, st.integers(2, 150))
def test_decimated_draws_what_drawable_makes_of_the_values(ys: list[float], buckets: int) -> None:
    """Values too large to draw, infinite or NaN are NaN as drawn, and never chosen as a bucket's extreme."""
    xs = [float(i) for i in range(len(ys))]
    dx, dy = decimated(xs, ys, buckets)
    ex, ey = decimated(xs, drawable(ys), buckets)
    assert dx == ex and np.array_equal(dy, ey, equal_nan=True)


def test_a_spike_among_a_million_points_is_still_drawn() -> None:
    ys = np.zeros(1_000_000)
    ys[765_432] = 5.0
    dx, dy = decimated(np.arange(1_000_000.0), ys)
    assert 765_432.0 in dx and len(dx) <= 1202


@pytest.mark.parametrize("run", ["iemocap-da", "digits-kmeans"])  # between them, all four charts
def test_charts_drawn_once_give_each_language_the_files_of_a_figure_drawn_for_it_alone(run: str) -> None:
    analysis = reporter.analyse(EXAMPLES / run, now=datetime(2025, 3, 15, tzinfo=timezone.utc))
    labels = {lang: chart_labels(lang, None, analysis.projection.interval) for lang in ("zh", "en")}
    shared, alone = charts(analysis), charts(analysis)
    assert len(shared) >= 3
    for chart, fresh in zip(shared, alone):
        chart.label(labels["zh"])
        zh = chart.svg()
        chart.png()
        chart.label(labels["en"])
        with house_style():  # as a figure drawn for English only: its texts in place before its first layout
            fresh.texts(labels["en"])
        assert (chart.svg(), chart.png()) == (fresh.svg(), fresh.png()), chart.name
        assert zh != fresh.svg()


def test_a_labs_matplotlibrc_does_not_change_the_figures() -> None:
    """matplotlib reads the user's matplotlibrc at import: a lab's `savefig.bbox: tight` or thick lines must not
    reshape a report's figures, which are the same on every machine (and byte-identical between runs)."""
    import matplotlib

    analysis = reporter.analyse(EXAMPLES / "iemocap-da", now=datetime(2025, 3, 15, tzinfo=timezone.utc))
    labels = chart_labels("en", None, analysis.projection.interval)

    def drawn() -> list[tuple[bytes, bytes]]:
        made = charts(analysis)
        for chart in made:
            chart.label(labels)
        return [(chart.png(), chart.svg()) for chart in made]

    house = drawn()
    lab = {"savefig.bbox": "tight", "figure.autolayout": True, "lines.linewidth": 4.0, "font.size": 14.0,
           "axes.grid": True, "svg.fonttype": "path", "savefig.dpi": 300.0, "savefig.facecolor": "black"}
    with matplotlib.rc_context(lab):
        assert drawn() == house


@settings(max_examples=150, deadline=None)
@given(unruly, st.integers(2, 150))
def test_decimated_keeps_each_buckets_first_lowest_and_highest_point(ys: list[float], buckets: int) -> None:
    """The vectorised buckets against their definition: np.array_split's buckets, each one's first minimum and
    maximum of the drawable values (np.nanargmin/argmax), both ends, in x order."""
    xs = [float(i) for i in range(len(ys))]
    if len(ys) <= 2 * buckets:
        return
    y = np.array(drawable(ys))
    keep = {0, len(ys) - 1}
    for chunk in np.array_split(np.arange(len(ys)), buckets):
        if np.isfinite(y[chunk]).any():
            keep |= {int(chunk[np.nanargmin(y[chunk])]), int(chunk[np.nanargmax(y[chunk])])}
    assert decimated(xs, ys, buckets)[0] == [float(i) for i in sorted(keep)]


def test_a_charts_svg_is_the_same_whether_or_not_its_png_was_made_first() -> None:
    """An HTML-only report and an HTML+Markdown one embed the same figures (the layout once differed with the
    renderer of whichever format was saved first)."""
    analysis = reporter.analyse(EXAMPLES / "iemocap-da", now=datetime(2025, 3, 15, tzinfo=timezone.utc))
    labels = chart_labels("zh", None, analysis.projection.interval)
    for alone, after_png in zip(charts(analysis), charts(analysis)):
        alone.label(labels)
        after_png.label(labels)
        after_png.png()
        assert alone.svg() == after_png.svg(), alone.name


@pytest.mark.parametrize("counts", [(95, 100, 105, 110), (2, 3, 4, 5)])
def test_a_balanced_datasets_class_counts_read_as_plain_numbers_from_a_common_base(tmp_path: Path,
                                                                                   counts: tuple[int, ...]) -> None:
    """Counts within one decade (a balanced dataset: 95 to 110 per class) gave the log axis only minor ticks, which
    matplotlib labelled in math text that the house style prints literally ("$\\mathdefault{1.1\\times10^{2}}$"),
    and an axis from 94 that drew 95 as a stub beside 110. Bars on the log axis start below one sample, and the
    title explains the red bars only when there are some."""
    import shutil

    run = tmp_path / "balanced"
    shutil.copytree(EXAMPLES / "iemocap-da", run)
    labels = [label for label, count in zip("abcd", counts) for _ in range(count)]
    rows = [(n, "words here", label) for n, label in enumerate(labels)]
    (run / "data" / "train_dev.tsv").write_text("index\ttext\tDA\n" + "".join(f"{n}\t{t}\t{d}\n" for n, t, d in rows))
    analysis = reporter.analyse(run, now=datetime(2025, 3, 15, tzinfo=timezone.utc))
    chart = next(c for c in charts(analysis) if c.name == "classes")
    labels = chart_labels("en", None, analysis.projection.interval)
    chart.label(labels)
    svg = chart.svg().decode()
    axes = chart.figure.axes[0]
    shown = [t.get_text() for t in axes.yaxis.get_majorticklabels() + axes.yaxis.get_minorticklabels()]
    assert "mathdefault" not in svg and not any("$" in text for text in shown)
    assert axes.get_ylim()[0] < 1
    assert axes.get_title() == labels["classes"] != labels["classes_artefacts"]  # no red bar to explain


def test_a_long_metric_name_is_shown_whole_inside_the_figure(tmp_path: Path) -> None:
    """An 82-character metric key as the y label ran past the figure's top and bottom edges: the reader saw its
    middle only. It is broken over lines at its underscores, all of it inside the figure."""
    key = "validation_top1_accuracy_on_the_held_out_imagenet_subset_with_ten_crop_augmentation"
    (tmp_path / "metrics.csv").write_text(f"epoch,train_loss,{key}\n"
                                          + "".join(f"{e},{1 / (e + 1)},{0.5 + e / 100}\n" for e in range(30)))
    analysis = reporter.analyse(tmp_path, now=datetime(2026, 12, 1, tzinfo=timezone.utc))
    chart = next(c for c in charts(analysis) if c.name == "metric")
    chart.label(chart_labels("en", None, analysis.projection.interval))
    chart.png()
    label = chart.figure.axes[0].yaxis.label
    box = label.get_window_extent()
    assert "".join(label.get_text().split()) == key
    assert box.y0 >= 0 and box.y1 <= chart.figure.bbox.height and box.x0 >= 0


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from("ab_/.- 验证"), max_size=120), st.integers(4, 40))
def test_fitted_lines_keep_every_character_and_stay_within_the_width(text: str, width: int) -> None:
    lines = fitted(text, width).split("\n")
    assert "".join(lines) == text
    assert all(sum(2 if c == "验" or c == "证" else 1 for c in line) <= width for line in lines)


def test_the_loss_chart_draws_the_losses_the_diagnosis_reads_and_names_those_it_leaves_out(tmp_path: Path) -> None:
    """Twelve loss components beside train_loss/val_loss: the chart once drew the first six keys alphabetically,
    without the validation loss, and said nothing of the other eight."""
    from reporter.cli import main

    run = tmp_path / "components"
    run.mkdir()
    header = "epoch," + ",".join(f"train/loss_{i}" for i in range(12)) + ",train_loss,val_loss"
    rows = [f"{n}," + ",".join(f"{(1 + i) * 0.9 ** n:.4f}" for i in range(12)) + f",{0.9 ** n:.4f},{0.5 + (n - 10) ** 2 / 1000:.4f}"
            for n in range(30)]
    (run / "metrics.csv").write_text("\n".join([header, *rows]) + "\n")
    analysis = reporter.analyse(run, now=datetime(2026, 12, 1, tzinfo=timezone.utc))
    drawn = [c.key for c in analysis.curves.losses]
    assert {"train_loss", "val_loss"} <= set(drawn) and len(drawn) == 6
    assert sorted(drawn + list(analysis.curves.losses_not_drawn)) == sorted(header.split(",")[1:])
    assert main(["report", str(run), "--out", str(tmp_path / "out"), "--format", "md,html", "--lang", "zh,en", "-q",
                 "--now", "2026-12-01T12:00:00"]) == 0
    for lang in ("zh", "en"):
        for form in ("md", "html"):
            text = (tmp_path / "out" / "components" / f"report.{lang}.{form}").read_text().replace("\\_", "_")
            caption = next(line for line in text.splitlines() if ("未绘制" if lang == "zh" else "Not drawn") in line)
            assert all(key in caption for key in analysis.curves.losses_not_drawn), (lang, form, caption)


def test_a_short_run_is_ticked_at_whole_epochs(tmp_path: Path) -> None:
    """Three epochs were ticked at 0.25 or 0.5 epochs, as if the run had been evaluated between them."""
    run = tmp_path / "short"
    run.mkdir()
    (run / "metrics.csv").write_text("epoch,loss,val_loss,val_acc\n0,1.0,1.1,0.5\n1,0.8,0.9,0.6\n2,0.7,0.85,0.65\n")
    analysis = reporter.analyse(run, now=datetime(2026, 12, 1, tzinfo=timezone.utc))
    made = charts(analysis)
    assert {c.name for c in made} >= {"metric", "loss"}
    for chart in made:
        chart.label(chart_labels("en", None, analysis.projection.interval))
        chart.svg()
        ticks = [t for t in chart.figure.axes[0].get_xticks() if chart.figure.axes[0].get_xlim()[0] <= t
                 <= chart.figure.axes[0].get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), (chart.name, ticks)


def test_values_that_differ_far_past_their_leading_digits_are_labelled_as_they_are(tmp_path: Path) -> None:
    """A metric within 1e-11 of 1 was labelled 10.0, 9.8... under an offset '1e-11+9.999999999e-1' that a reader
    has to decode; every tick now reads as the value it marks."""
    run = tmp_path / "flat"
    run.mkdir()
    (run / "metrics.csv").write_text("epoch,loss,val_loss,val_acc\n" + "".join(
        f"{n},{1 / (n + 1):.4f},{1 / (n + 1) + 0.1:.4f},{1 - 1e-12 * n!r}\n" for n in range(11)))
    analysis = reporter.analyse(run, now=datetime(2026, 12, 1, tzinfo=timezone.utc))
    chart = next(c for c in charts(analysis) if c.name == "metric")
    chart.label(chart_labels("en", None, analysis.projection.interval))
    chart.svg()
    axes = chart.figure.axes[0]
    low, high = axes.get_ylim()
    ticks = [(t.get_loc(), t.label1.get_text()) for t in axes.yaxis.get_major_ticks() if low <= t.get_loc() <= high]
    assert axes.yaxis.get_offset_text().get_text() == ""
    assert ticks and all(abs(float(text) - at) < 1e-14 for at, text in ticks), ticks
