"""Command line: parse arguments, call one function, map errors to exit codes (0 ok, 2 input, 1 bug)."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from reporter import __version__
from reporter.config import (
    FORMATS,
    LANGUAGES,
    _choice_list,
    _Problems,
    parse_epoch_list,
)
from reporter.errors import ReporterError, UsageError
from reporter.model import Mode, RunConfig

if TYPE_CHECKING:
    from reporter.lab.delivery.settings import DeliverySettings
    from reporter.report.pipeline import ReportRequest

log = logging.getLogger("reporter")


def _out_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out)")


def _languages_and_formats(command: argparse.ArgumentParser) -> None:
    command.add_argument("--lang", help="languages, comma-separated (default: zh,en)")
    command.add_argument("--format", dest="formats", help="formats, comma-separated (default: md,html,pdf)")


def _output_flags(command: argparse.ArgumentParser) -> None:
    """--out, --lang and --format, which every command that writes documents takes alike."""
    _out_flag(command)
    _languages_and_formats(command)


def _settings_flags(command: argparse.ArgumentParser, config: str, now: str, quiet: str) -> None:
    """--config, --templates, --now and -q; only their help differs between commands."""
    command.add_argument("--config", type=Path, help=config)
    command.add_argument("--templates", type=Path, help="folder with templates/catalogs overriding the built-in ones")
    command.add_argument("--now", help=now)
    command.add_argument("-q", "--quiet", action="store_true", help=quiet)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reporter", description="Honest bilingual status reports for ML training runs.")
    parser.add_argument("--version", action="version", version=f"reporter {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="write the report of one run",
                                 description="Write report.<lang>.md|html|pdf, figures and summary.json to OUT/<run-id>/.")
    report.add_argument("run", metavar="RUN", help="run directory, single history file, or run id under the runs root")
    _output_flags(report)
    report.add_argument("--source", help="the history to use when a run folder holds several (FILE, or FILE#RUN for "
                                         "an MLflow database)")
    report.add_argument("--metric", help="primary metric key (default: run.toml, else guessed from the history)")
    report.add_argument("--mode", choices=[m.value for m in Mode], help="whether higher (max) or lower (min) is better")
    report.add_argument("--project-to", help="epochs to project to, comma-separated (never past the run's end)")
    report.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes; 2 or more render the languages side by side (default: the cores)")
    _settings_flags(report, "lab settings file (TOML): runs_root, languages, thresholds",
                    "the report's date and time (ISO 8601), for reproducible reports", "print only errors")
    for name, summary, description in (
            ("batch", "report on every run under a folder (the nightly job)",
             "Find every run under ROOT, re-render those whose inputs changed, in parallel; write OUT/batch.json "
             "and OUT/index.html. Exit 1 if a run failed."),
            ("digest", "the lab-meeting digest of every run under a folder",
             "Bring every run's report up to date (as batch does), then write OUT/digest.<lang>.md|html|pdf: a "
             "cover table, seeds grouped, changes since --since, and a page per run.")):
        batch = commands.add_parser(name, help=summary, description=description)
        batch.add_argument("root", metavar="ROOT", type=Path, help="folder holding run folders")
        _out_flag(batch)
        batch.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: the cores)")
        batch.add_argument("--force", action="store_true", help="re-render every run, changed or not")
        batch.add_argument("--depth", type=int, default=3, help="how deep to look for run folders (default: 3)")
        batch.add_argument("--glob", help="only runs whose folder path below ROOT matches, from the right: "
                                          "'seed*', 'umc/*' (default: every run)")
        batch.add_argument("--scheduler", help="run on a Dask distributed cluster, e.g. tcp://host:8786 "
                                               "(pip install 'reporter[dask]')")
        _languages_and_formats(batch)
        _settings_flags(batch, "lab settings file (TOML)", "the reports' date and time (ISO 8601)",
                        "print only errors and the summary")
        if name == "digest":
            batch.add_argument("--since", help="the last meeting's date, YYYY-MM-DD (default: 7 days before --now)")
    send = commands.add_parser("send", help="deliver the latest nightly reports by e-mail and chat",
                               description="Send the latest batch's message (problems first, links, the digest PDF) "
                                           "to every channel of the [delivery] settings; exit 1 if one fails.")
    send.add_argument("--config", type=Path, required=True, help="lab settings file (TOML) with a [delivery] table")
    send.add_argument("--out", type=Path, default=Path("out"), help="output folder of the batch (default: out)")
    send.add_argument("--dry-run", action="store_true", help="write each message to OUT/outbox/ instead of sending")
    send.add_argument("--templates", type=Path, help="folder with templates/catalogs overriding the built-in ones")
    send.add_argument("--now", help="the message's date (ISO 8601; default: now)")
    send.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    compare = commands.add_parser(
        "compare", help="compare runs or groups of seeds, with honest statistics",
        description="Write OUT/compare/<name>/compare.<lang>.md|html|pdf and compare.json: config diff, curves, "
                    "final and best values with 95% bootstrap intervals, and each group against the baseline.")
    compare.add_argument("groups", nargs="+", metavar="GROUP",
                         help="a run, a folder of seeds, or a glob (quote it); or one [[experiments]] name")
    _out_flag(compare)
    compare.add_argument("--baseline", help="the group the others are compared with (default: the first)")
    compare.add_argument("--metric", help="the metric to compare (default: each run's primary metric)")
    compare.add_argument("--mode", choices=[m.value for m in Mode], help="whether higher (max) or lower (min) is better")
    _languages_and_formats(compare)
    _settings_flags(compare, "lab settings file (TOML), with [[experiments]]",
                    "the report's date and time (ISO 8601), for reproducible reports", "print only errors")
    backtest = commands.add_parser(
        "backtest", help="measure projection accuracy on real learning curves",
        description="Cut each curve at 20/40/60% of its points, forecast the final value with each method, and "
                    "print median/mean error (divided by the curve's range), 80% interval coverage and time. "
                    "Intervals are calibrated leave-one-source-out when the curves come from several sources "
                    "(see --calibration).")
    backtest.add_argument("curves", nargs="+", metavar="CURVES",
                          help="curves JSONL (id, x, y, higher_is_better, source_repo) or run directories/histories")
    backtest.add_argument("--prefixes", default="0.2,0.4,0.6", help="prefix fractions (default: 0.2,0.4,0.6)")
    backtest.add_argument("--calibration", choices=("held-out", "shipped"), default=None,
                          help="intervals from a calibration that left each curve's source out (default with several "
                               "sources), or the one reports use, built from shared/curves-large (default with one source; "
                               "the honest choice for curves that calibration never saw, such as your own runs)")
    backtest.add_argument("--csv", type=Path, help="also write the table as CSV")
    backtest.add_argument("--scores", type=Path, help="also write every curve's score at every prefix as CSV")
    backtest.add_argument("--plot", type=Path, help="also write a plot of the error per method and prefix (PNG)")
    backtest.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    return parser


def _request(args: argparse.Namespace) -> ReportRequest:
    from reporter.report.pipeline import ReportRequest  # the pipeline imports pandas: not for --help

    problems = _Problems("command line")
    langs = _choice_list(problems, "--lang", args.lang, LANGUAGES) if args.lang is not None else None
    formats = _choice_list(problems, "--format", args.formats, FORMATS) if args.formats is not None else None
    project_arg = getattr(args, "project_to", None)  # report-only flags are absent for batch and digest
    project_to = parse_epoch_list(problems, "--project-to", project_arg) if project_arg else None
    now = datetime.now(timezone.utc)
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            problems.add("--now", f"expected an ISO 8601 date such as 2026-11-24T09:00:00, got {args.now!r}")
        else:
            now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    if args.templates is not None and not args.templates.is_dir():
        problems.add("--templates", f"{args.templates} is not a folder")
    if getattr(args, "jobs", 1) < 1:
        problems.add("--jobs", f"expected a positive number of processes, got {args.jobs}")
    if problems.items:
        raise UsageError("; ".join(problems.items))
    mode = getattr(args, "mode", None)
    overrides = RunConfig(metric=getattr(args, "metric", None), mode=Mode(mode) if mode else None,
                          history=getattr(args, "source", None))
    return ReportRequest(run=getattr(args, "run", None) or str(getattr(args, "root", "")), out=args.out, languages=langs, formats=formats, project_to=project_to,
                         config=args.config, templates=args.templates, now=now, overrides=overrides)


def _is_date(text: str) -> bool:
    """A real calendar date written YYYY-MM-DD (2026-02-30 is not one)."""
    if not re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _batch(args: argparse.Namespace) -> int:
    from reporter.lab.batch import run_batch
    from reporter.lab.index import Failure
    from reporter.report.ingest import load_settings

    request = _request(args)
    since = getattr(args, "since", None) or f"{request.now - timedelta(days=7):%Y-%m-%d}"
    if not _is_date(since):  # checked before any work is done
        raise UsageError(f"--since: expected a date such as 2026-11-17, got {since!r}")
    lab = load_settings(request.config)
    if lab.delivery is not None:  # a missing secret stops the batch before it starts, not after an hour
        from reporter.lab.delivery import check_secrets

        check_secrets(lab.delivery, str(request.config))
    # The digest's --lang/--format choose the digest only: the runs' reports keep the nightly settings.
    nightly = replace(request, languages=None, formats=None) if args.command == "digest" else request
    results = run_batch(args.root, nightly, args.jobs, args.force, args.depth, args.scheduler, args.glob)
    failed = [r for r in results if r.status == "failed"]
    counts = {status: sum(r.status == status for r in results) for status in ("rendered", "skipped", "failed")}
    print(f"{len(results)} run{'' if len(results) == 1 else 's'}: {counts['rendered']} rendered, {counts['skipped']} unchanged, {counts['failed']} failed; "
          f"see {args.out}/index.html and {args.out}/batch.json")
    for result in failed:
        print(f"  {result.run}: {result.error}", file=sys.stderr)
    failures = {r.run: Failure(r.error or "", r.path) for r in failed}
    if args.command == "digest":
        from reporter.lab.compare.command import experiment_comparisons
        from reporter.lab.digest import write_digest

        written = write_digest(args.out, [r.run for r in results if r.status != "failed"],
                               failures, request.now, since,
                               request.languages or lab.languages, request.formats or lab.formats,
                               request.templates, experiment_comparisons(lab, request.now))
        print(f"digest: {', '.join(p.name for p in written)}")
    elif lab.delivery is not None:  # the message carries tonight's digest PDF, in its own file: never the meeting's
        from reporter.lab.digest import write_digest
        from reporter.outstore import NIGHTLY

        write_digest(args.out, [r.run for r in results if r.status != "failed"],
                     failures, request.now, since,
                     lab.delivery.languages, ("pdf",), request.templates, stem=NIGHTLY)
    delivery = _deliver(args.out, lab.delivery, str(request.config), request.now, request.templates,
                        quiet=args.quiet) if lab.delivery else 0
    return 1 if failed or delivery else 0


def _deliver(out: Path, delivery: DeliverySettings, origin: str, now: datetime, templates: Path | None,
             dry_run: bool = False, quiet: bool = False) -> int:
    """Deliver tonight's message; each failed channel is one line on stderr (also under -q, which hides
    the line naming the channels that worked). 1 when one failed, else 0."""
    from reporter.lab.delivery import deliver

    results = deliver(out, delivery, now, origin, templates, dry_run)
    done = [r.kind for r in results if r.ok]
    if done and not quiet:
        print(f"{'outbox' if dry_run else 'delivered'}: {', '.join(done)}" + (f" (see {out}/outbox/)" if dry_run else ""))
    for result in results:
        if not result.ok:
            print(f"reporter: delivery to {result.kind} failed: {result.error}", file=sys.stderr)
    return 1 if len(done) < len(results) else 0


def _send(args: argparse.Namespace) -> int:
    from reporter.lab.delivery import check_secrets
    from reporter.report.ingest import load_settings

    lab = load_settings(args.config)
    if lab.delivery is None:
        raise UsageError(f"{args.config}: no [delivery] table; add one (see the README, 'Delivering the reports')")
    check_secrets(lab.delivery, str(args.config))
    try:
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(timezone.utc)
    except ValueError:
        raise UsageError(f"--now: expected an ISO 8601 date such as 2026-11-24T09:00:00, got {args.now!r}") from None
    return _deliver(args.out, lab.delivery, str(args.config), now if now.tzinfo else now.replace(tzinfo=timezone.utc),
                    args.templates, args.dry_run, args.quiet)


def _compare(args: argparse.Namespace) -> int:
    from reporter.lab.compare.command import CompareRequest, make_comparison

    request = _request(args)
    written = make_comparison(CompareRequest(
        groups=tuple(args.groups), out=args.out, now=request.now, baseline=args.baseline, languages=request.languages,
        formats=request.formats, config=args.config, templates=args.templates, metric=args.metric,
        mode=Mode(args.mode) if args.mode else None))
    if not args.quiet:
        print(f"wrote {written[0].parent}/: {', '.join(p.name for p in written if p.parent == written[0].parent)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("matplotlib").setLevel(logging.ERROR)
    try:
        if args.command in ("batch", "digest"):
            return _batch(args)
        if args.command == "send":
            return _send(args)
        if args.command == "compare":
            return _compare(args)
        if args.command == "backtest":
            from reporter.backtest.cli import run_backtest

            return run_backtest(args)
        from reporter.report.pipeline import make_report

        written = make_report(replace(_request(args), parallel=args.jobs > 1))
    except ReporterError as exc:
        print(f"reporter: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the boundary: anything else is a bug, reported in one line
        print(f"reporter: internal error ({type(exc).__name__}: {exc}); please report it with the run attached",
              file=sys.stderr)
        return 1
    if not args.quiet:
        folder = next((p.parent for p in written if p.name == "summary.json" and "history" not in p.parts), args.out)
        documents = [p.name for p in written if p.name.startswith("report.")]
        print(f"wrote {folder}/: {', '.join(documents)}, summary.json and {sum('figures' in p.parts for p in written)} figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
