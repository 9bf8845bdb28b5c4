"""`reporter compare`: resolve the groups, load and analyse every run, compare, render, write atomically.

Each argument is a group: a run (folder or history file), a folder of seeds (every run under it), or a
glob. A single argument naming a declared `[[experiments]]` entry stands for its baseline and runs.
Output: OUT/compare/<name>/compare.<lang>.md|html|pdf, compare.json and figures/.
"""

from __future__ import annotations

import glob
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reporter.config import Experiment, Settings
from reporter.errors import UsageError
from reporter.lab.compare.analysis import Comparison, Group, compare_groups, compare_json
from reporter.lab.compare.render import render_comparison
from reporter.lab.discover import discover, looks_like_run
from reporter.model import Mode, RunConfig
from reporter.outstore import COMPARED, compare_directory, write_atomic
from reporter.report.analysis import analyse
from reporter.report.ingest import load_run, load_settings

log = logging.getLogger(__name__)
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class CompareRequest:
    groups: tuple[str, ...]
    out: Path
    now: datetime
    baseline: str | None = None
    languages: tuple[str, ...] | None = None
    formats: tuple[str, ...] | None = None
    config: Path | None = None
    templates: Path | None = None
    metric: str | None = None
    mode: Mode | None = None


def _runs_in(spec: str, runs_root: Path) -> list[tuple[Path, Path]]:
    """The run paths a group argument stands for, sorted, each with the folder its id is spelled from: the
    group's own folder for a folder of seeds, else the run's parent. So a run has the same id whether the
    group was named on the command line or under the runs root of a lab's [[experiments]].

    Raises:
        UsageError: nothing matches, or the folder holds no run.
    """
    candidates = [Path(spec)] if Path(spec).is_absolute() else [Path(spec), runs_root / spec]
    for base in candidates:
        if _GLOB.search(str(base)):
            matches = sorted(Path(p) for p in glob.glob(str(base)))
            runs = [(p, p.parent) for p in matches if p.is_file() or looks_like_run(p)]
            if runs:
                return runs
        elif base.is_file() or (base.is_dir() and looks_like_run(base)):
            return [(base, base.parent)]
        elif base.is_dir():
            folders = discover(base)
            if folders:
                return [(run, base) for run in sorted(folders)]
            raise UsageError(f"{base}: no run folders below it; give run folders, a folder of seeds or a glob")
    raise UsageError(f"{spec}: no run, folder or glob match (also looked under the runs root {runs_root})")


def _group_name(spec: str) -> str:
    return spec if _GLOB.search(spec) else (Path(spec).name or spec)


def _specs(request: CompareRequest, settings: Settings) -> tuple[list[str], str, str | None]:
    """Group arguments, the baseline's name, and the experiment's name when one was named."""
    declared: dict[str, Experiment] = {e.name: e for e in settings.experiments}
    if len(request.groups) == 1 and request.groups[0] in declared:
        experiment = declared[request.groups[0]]
        return [experiment.baseline, *experiment.runs], _group_name(experiment.baseline), experiment.name
    if len(request.groups) < 2:
        known = f" (declared experiments: {', '.join(declared)})" if declared else ""
        raise UsageError(f"compare needs at least two runs or groups, or the name of an experiment{known}")
    return list(request.groups), request.baseline or _group_name(request.groups[0]), None


def output_name(names: list[str], experiment: str | None) -> str:
    """The folder under OUT/compare/: the experiment's name, or the groups joined with '-vs-'."""
    raw = experiment or "-vs-".join(names)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw).strip("._")[:100] or "comparison"


def _groups(specs: list[str], names: list[str], settings: Settings, now: datetime,
            overrides: RunConfig = RunConfig()) -> list[Group]:
    groups = []
    for spec, name in zip(specs, names):
        paths = _runs_in(spec, Path(settings.runs_root))
        log.info("group %s: %d runs", name, len(paths))
        groups.append(Group(name, tuple(analyse(load_run(str(p), Path(settings.runs_root), overrides, root=root), now,
                                                limits=settings.thresholds) for p, root in paths)))
    return groups


def experiment_comparisons(settings: Settings, now: datetime) -> tuple[tuple[str, Comparison], ...]:
    """Every declared experiment compared against its baseline, for the digest's ablation tables.

    Raises:
        ReporterError: an experiment's runs cannot be read or compared.
    """
    found = []
    for experiment in settings.experiments:
        specs = [experiment.baseline, *experiment.runs]
        names = [_group_name(s) for s in specs]
        found.append((experiment.name, compare_groups(_groups(specs, names, settings, now), names[0])))
    return tuple(found)


def make_comparison(request: CompareRequest) -> list[Path]:
    """Every file of one comparison, written only after all of them rendered.

    Raises:
        ReporterError: a run cannot be read, the groups cannot be compared honestly, or rendering fails.
    """
    settings = load_settings(request.config)
    specs, baseline, experiment = _specs(request, settings)
    names = [_group_name(s) for s in specs]
    if len(set(names)) < len(names):
        raise UsageError(f"two groups share a name ({', '.join(names)}); give folders with distinct names")
    groups = _groups(specs, names, settings, request.now, RunConfig(metric=request.metric, mode=request.mode))
    comparison = compare_groups(groups, request.baseline or baseline)
    title = experiment or " · ".join(names)
    files = render_comparison(comparison, title, request.now, request.languages or settings.languages,
                              request.formats or settings.formats, request.templates)
    files["compare.json"] = (json.dumps(compare_json(comparison), ensure_ascii=False, indent=2) + "\n").encode()
    target = compare_directory(request.out, output_name(names, experiment))
    for relative, content in sorted(files.items()):
        write_atomic(target / relative, content)
    folders = {g.name: [str(a.run.location) for a in g.analyses if a.run.location is not None] for g in groups}
    write_atomic(target / COMPARED, json.dumps(folders, ensure_ascii=False, indent=2).encode("utf-8"))
    from reporter.lab.index import refresh_index  # the index of a batch into this out/ links the comparison at once

    refresh_index(request.out, request.now, request.templates)
    return [target / relative for relative in sorted(files)]
