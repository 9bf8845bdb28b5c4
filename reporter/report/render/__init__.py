"""Render: ReportContext -> bytes of every requested document, in memory (publish writes them)."""

from __future__ import annotations

import base64
import gc
import io
import logging
import multiprocessing
import os
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Mapping

from reporter.errors import RenderError, ReporterError
from reporter.model import Analysis
from reporter.processes import die_with_parent
from reporter.report.present import ReportContext
from reporter.report.render.charts import Chart, charts, house_style, styled_figure
from reporter.report.render.environment import environment, format_date, lab_template_errors, render_template

log = logging.getLogger(__name__)


def chart_labels(lang: str, templates: Path | None, interval: float) -> Mapping[str, str]:
    """Translated chart labels, defined in templates/partials/chart_labels.j2 with the other messages;
    `interval` is the projection band's coverage, which the legend states."""
    env = environment(lang, "html", templates)
    with lab_template_errors(env):
        template = env.get_template("partials/chart_labels.j2")
        try:
            module = template.make_module({"interval": interval})
        except Exception:  # noqa: BLE001 - re-raised by jinja with the template's own file and line
            env.handle_exception()
    return {key: str(value) for key, value in getattr(module, "labels").items()}


def warm_up(languages: tuple[str, ...], formats: tuple[str, ...], templates: Path | None) -> None:
    """Pays the fixed costs of rendering in this process: matplotlib and the chart fonts, WeasyPrint and its
    fonts when PDFs are made, each language's Jinja environments and compiled templates. A batch calls this
    before it forks its workers, which then inherit all of it instead of paying it at their first report."""
    with house_style():
        figure = styled_figure(1, 1)
        figure.text(0, 0, "0 ...")
        figure.savefig(io.BytesIO(), format="svg")
    for lang in languages:
        chart_labels(lang, templates, 0.8)
        for output, name in (("md", "report.md.j2"), ("html", "report.html.j2")):
            env = environment(lang, output, templates)
            with lab_template_errors(env):
                env.get_template(name)
    if "pdf" in formats:
        from reporter.report.render.pdf import html_to_pdf

        html_to_pdf("<p>0</p>", datetime(2000, 1, 1, tzinfo=timezone.utc))


def _data_uri(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def render_report(analysis: Analysis, context: ReportContext, languages: tuple[str, ...], formats: tuple[str, ...],
                  templates: Path | None = None, parallel: bool = False) -> dict[str, bytes]:
    """Relative path -> content for every document and figure of one run.

    With `parallel`, the other languages render in a forked process while this one renders the
    first: a report by hand then takes the time of one language, not two. Batches leave it off,
    since their workers already use every core. The charts are drawn once, for every language.
    """
    made = charts(analysis)
    if not parallel or len(languages) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        files: dict[str, bytes] = {}
        for lang in languages:
            files.update(_render_language(analysis, context, made, lang, formats, templates))
        return files
    fork = multiprocessing.get_context("fork")
    gc.freeze()  # a collection in a child would write to every inherited object and copy the parent's heap
    receivers, children = [], []
    for lang in languages[1:]:  # a forked child shares the analysis as it is, nothing to pickle
        receiver, sender = fork.Pipe(duplex=False)
        child = fork.Process(target=_render_in_child,
                             args=(os.getpid(), sender, analysis, context, made, lang, formats, templates),
                             daemon=True)
        child.start()
        sender.close()
        receivers.append(receiver)
        children.append(child)
    try:
        files = _render_language(analysis, context, made, languages[0], formats, templates)
        for lang, receiver in zip(languages[1:], receivers):
            try:
                outcome = receiver.recv()
            except EOFError:
                outcome = RenderError(f"the process rendering the '{lang}' report ended without a result (killed, or "
                                      "out of memory?); run again, or with --jobs 1 to render in one process")
            if isinstance(outcome, BaseException):
                raise outcome
            files.update(outcome)
    finally:  # a failure here must not leave a child blocked on a pipe nobody reads
        gc.unfreeze()
        for child in children:
            if child.is_alive():
                child.terminate()
            child.join()
    return files


def _render_in_child(parent: int, sender: Connection, analysis: Analysis, context: ReportContext,
                     made: tuple[Chart, ...], lang: str, formats: tuple[str, ...], templates: Path | None) -> None:
    die_with_parent(parent)  # a kill -9 of the report must not leave this copy of its memory behind
    try:
        sender.send(_render_language(analysis, context, made, lang, formats, templates))
    except ReporterError as exc:
        sender.send(exc)
    except Exception as exc:  # noqa: BLE001 - carried to the parent, which reports it like its own
        sender.send(RuntimeError(f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()


def _render_language(analysis: Analysis, context: ReportContext, made: tuple[Chart, ...], lang: str,
                     formats: tuple[str, ...], templates: Path | None) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    labels = chart_labels(lang, templates, analysis.projection.interval)
    for chart in made:
        chart.label(labels)
    figures = {chart.name: chart for chart in made}
    date = format_date(context.generated_at, lang)
    if "md" in formats:
        for chart in made:
            files[f"figures/{chart.name}.{lang}.png"] = chart.png()
        env = environment(lang, "md", templates)
        text = render_template(env, "report.md.j2", c=context, date=date,
                               figures={name: f"figures/{name}.{lang}.png" for name in figures})
        files[f"report.{lang}.md"] = text.encode("utf-8")
    if "html" in formats or "pdf" in formats:
        svgs = {chart.name: chart.svg() for chart in made}
        for name, svg in svgs.items():
            files[f"figures/{name}.{lang}.svg"] = svg
        env = environment(lang, "html", templates)
        html = render_template(env, "report.html.j2", c=context, date=date,
                               figures={name: _data_uri(svg) for name, svg in svgs.items()})
        if "html" in formats:
            files[f"report.{lang}.html"] = html.encode("utf-8")
        if "pdf" in formats:
            from reporter.report.render.pdf import html_to_pdf

            log.info("writing PDF (%s)", lang)
            files[f"report.{lang}.pdf"], missing = html_to_pdf(html, context.generated_at)
            if missing:
                log.warning("report.%s.pdf: %d characters have no glyph in the installed fonts and show as boxes "
                            "(first: %s); install fonts-noto-cjk and fonts-noto-color-emoji", lang, len(missing),
                            missing[0])
    return files
