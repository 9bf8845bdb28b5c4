"""Render a comparison: the overlaid curves (median with a band across seeds) and the documents, in memory."""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path
from typing import Mapping

from reporter.lab.compare.analysis import Band, Comparison
from reporter.report.render.charts import Chart, house_style, styled_figure
from reporter.report.render.environment import environment, format_date, render_template

PALETTE = ("#1f5fa8", "#d9822b", "#2a9d8f", "#8e6cbf", "#c0392b", "#7a7a7a", "#b8860b", "#2f4f4f")


def _labels(lang: str, templates: Path | None) -> Mapping[str, str]:
    env = environment(lang, "html", templates)
    module = env.get_template("partials/chart_labels.j2").make_module({"interval": 0.8})
    return {key: str(value) for key, value in getattr(module, "labels").items()}


def band_chart(name: str, bands: Mapping[str, Band | None], y_label: str, labels: Mapping[str, str],
               x_unit: str) -> Chart | None:
    """Each group's median across seeds as a line, its lowest..highest seed as a shaded band, on one axis."""
    drawn = {group: b for group, b in bands.items() if b is not None}
    if not drawn:
        return None
    with house_style():
        figure = styled_figure()
        axes = figure.add_subplot()
        for index, (group, b) in enumerate(drawn.items()):
            colour = PALETTE[index % len(PALETTE)]
            axes.fill_between(b.x, b.low, b.high, color=colour, alpha=0.2, linewidth=0)
            axes.plot(b.x, b.median, color=colour, label=group)
        axes.set_xlabel(labels[x_unit])
        axes.set_ylabel(y_label)
        # below the axes: seeds' bands fill most of the plot, and "best" placed it over a band's peak
        figure.legend(loc="outside lower center", ncols=len(drawn), fontsize=8, frameon=False,
                      title=labels["median_band"], title_fontsize=8)
        return Chart(name, figure)


def compare_charts(c: Comparison, labels: Mapping[str, str]) -> tuple[Chart, ...]:
    metric = band_chart("metric", {g.name: g.metric_band for g in c.groups}, c.metric, labels, c.x_unit)
    loss = band_chart("loss", {g.name: g.loss_band for g in c.groups}, labels["loss"], labels, c.x_unit)
    return tuple(chart for chart in (metric, loss) if chart is not None)


def render_comparison(c: Comparison, title: str, now: datetime, languages: tuple[str, ...],
                      formats: tuple[str, ...], templates: Path | None = None) -> dict[str, bytes]:
    """Relative path -> content of every document and figure of one comparison."""
    files: dict[str, bytes] = {}
    for lang in languages:
        made = compare_charts(c, _labels(lang, templates))
        context = {"c": c, "title": title, "date": format_date(now, lang)}
        if "md" in formats:
            figures = {}
            for chart in made:
                files[f"figures/{chart.name}.{lang}.png"] = chart.png()
                figures[chart.name] = f"figures/{chart.name}.{lang}.png"
            text = render_template(environment(lang, "md", templates), "compare.md.j2", figures=figures, **context)
            files[f"compare.{lang}.md"] = text.encode("utf-8")
        if "html" in formats or "pdf" in formats:
            figures = {}
            for chart in made:
                svg = chart.svg()
                files[f"figures/{chart.name}.{lang}.svg"] = svg
                figures[chart.name] = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
            html = render_template(environment(lang, "html", templates), "compare.html.j2", figures=figures,
                                   **context)
            if "html" in formats:
                files[f"compare.{lang}.html"] = html.encode("utf-8")
            if "pdf" in formats:
                from reporter.report.render.pdf import html_to_pdf

                files[f"compare.{lang}.pdf"], _ = html_to_pdf(html, now)
    return files
