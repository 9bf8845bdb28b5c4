"""The render matrix: runs combining the report's features, chosen so every pair of feature values is
rendered together at least once (a greedy all-pairs cover, below), plus a Hypothesis test that any
Analysis built by the real analyse() renders.

Each rendered report must exit 0 and hold no placeholder (`%(`, `{{`, `None`, `nan`), no finding code
left as a code, and, in Chinese, no English sentence from the catalog (a message without translation).
"""

from __future__ import annotations

import itertools
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from babel.messages.pofile import read_po
from conftest import NOW, ROOT, make_labels, make_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reporter.cli import main
from reporter.errors import ReporterError
from reporter.model import Event
from reporter.report.analysis import analyse
from reporter.report.present import present
from reporter.report.reference import projection_calibration, published_results
from reporter.report.render.environment import BUILTIN_TEMPLATES, environment, format_date, render_template

FEATURES: dict[str, tuple[str, ...]] = {
    "source": ("curve", "umc_results"),
    "axis": ("epoch", "step"),
    "labels": ("no", "yes"),
    "predictions": ("no", "yes"),
    "dataset": ("none", "published"),
    "seeds": ("one", "three"),
    "projection": ("default", "project_to"),
    "since": ("first", "previous"),
    "end": ("normal", "crash", "stall"),
    "lang": ("zh", "en", "zh,en"),
    "templates": ("builtin", "lab"),
}
"""Feature -> values. 'axis' shapes curve histories and 'seeds' results tables; each is still set in every
case, so its pairs are rendered even where the other source ignores it."""
PDF_CASES = 2
"""The first cases also render PDF (slow); every pair is covered by md + html alone."""
WHEN = datetime(2025, 3, 15, 9, 0, tzinfo=timezone.utc)


def all_pairs(features: dict[str, tuple[str, ...]]) -> list[dict[str, str]]:
    """A small set of cases covering every pair of values of two features: greedy, deterministic.

    Each step picks the full combination covering the most pairs not yet covered (first one on ties).
    """
    names = list(features)
    todo = {((a, va), (b, vb)) for a, b in itertools.combinations(names, 2)
            for va in features[a] for vb in features[b]}
    rows = [dict(zip(names, values)) for values in itertools.product(*features.values())]
    cases = []
    while todo:
        def gain(row: dict[str, str]) -> int:
            return sum(((a, row[a]), (b, row[b])) in todo for a, b in itertools.combinations(names, 2))
        best = max(rows, key=gain)
        todo -= {((a, best[a]), (b, best[b])) for a, b in itertools.combinations(names, 2)}
        cases.append(best)
    return cases


CASES = all_pairs(FEATURES)


def test_the_cases_cover_every_pair() -> None:
    for a, b in itertools.combinations(FEATURES, 2):
        seen = {(case[a], case[b]) for case in CASES}
        assert seen == set(itertools.product(FEATURES[a], FEATURES[b])), (a, b)
    assert len(CASES) <= 14  # the greedy cover stays small (3 x 3 = 9 is the floor)


def _curve(folder: Path, case: dict[str, str]) -> None:
    n = 12
    nmi = [0.10 + 0.012 * i for i in range(n)]
    loss = [2.0 - 0.08 * i for i in range(n)]
    if case["end"] == "crash":
        loss[-1] = float("nan")
    x_name, scale = ("epoch", 1) if case["axis"] == "epoch" else ("step", 250)
    rows = [f"{x_name},loss,nmi"] + [f"{(i + 1) * scale},{loss[i]},{nmi[i]}" for i in range(n)]
    (folder / "history.csv").write_text("\n".join(rows) + "\n")


def _results(folder: Path, case: dict[str, str]) -> None:
    table = (ROOT / "examples" / "umc-results" / "results_umc.csv").read_text().splitlines()
    rows = table[: 2 if case["seeds"] == "one" else 4]
    if case["end"] == "crash":  # a seed whose run diverged: its ARI is NaN
        nmi, _, rest = rows[-1].split(",", 2)
        rows[-1] = f"{nmi},nan,{rest}"
    if case["dataset"] == "none":
        rows = [row.replace("IEMOCAP-DA", "lab-data") for row in rows]
    (folder / "results_umc.csv").write_text("\n".join(rows) + "\n")


def _predictions(folder: Path) -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), [60, 40, 30, 4])
    (folder / "predictions").mkdir()
    for epoch in (1, 2, 10):
        preds = np.where(rng.random(labels.size) < 0.2 * epoch / 10 + 0.6, labels, rng.integers(0, 4, labels.size))
        preds[labels == 2] = 1  # two classes merged
        np.savez_compressed(folder / "predictions" / f"epoch_{epoch}.npz", labels=labels, preds=preds,
                            embeddings=rng.normal(size=(labels.size, 3)) + labels[:, None])


def make_case_run(root: Path, index: int, case: dict[str, str]) -> Path:
    folder = root / f"case{index:02d}"
    folder.mkdir()
    toml = ['name = "matrix case"', '[metric]', 'name = "nmi"' if case["source"] == "curve" else 'name = "test_nmi"']
    if case["source"] == "curve":
        _curve(folder, case)
        if case["end"] == "normal" and case["axis"] == "epoch":
            toml.insert(1, "planned_epochs = 12")
        elif case["end"] == "stall":
            toml.insert(1, "planned_epochs = 40")
    else:
        _results(folder, case)
    if case["dataset"] == "published":
        toml.insert(1, 'dataset = "IEMOCAP-DA"')
    if case["labels"] == "yes":
        (folder / "labels.tsv").write_text("text\tlabel\n" + "".join(f"t {i}\t{'ab'[i % 2]}\n" for i in range(30))
                                           + "text\tlabel\n" + "x y\tc\n")
        toml += ["[labels]", 'file = "labels.tsv"', 'label_column = "label"', 'text_column = "text"']
    if case["predictions"] == "yes":
        _predictions(folder)
    (folder / "run.toml").write_text("\n".join(toml) + "\n")
    if case["end"] == "stall":
        old = (WHEN - timedelta(days=3)).timestamp()
        for path in folder.iterdir():
            os.utime(path, (old, old))
    return folder


def _lab_templates(root: Path) -> Path:
    lab = root / "lab" / "partials"
    lab.mkdir(parents=True)
    text = (BUILTIN_TEMPLATES / "partials" / "changes.md.j2").read_text()
    (lab / "changes.md.j2").write_text("<!-- lab partial -->\n" + text)
    return lab.parent


@dataclass(frozen=True)
class Rendered:
    case: dict[str, str]
    code: int
    error: str
    folder: Path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> list[Rendered]:
    root = tmp_path_factory.mktemp("matrix")
    lab = _lab_templates(root)
    (root / "runs").mkdir()
    results = []
    for index, case in enumerate(CASES):
        run = make_case_run(root / "runs", index, case)
        out = root / "out"
        args = ["report", str(run), "--out", str(out), "--lang", case["lang"], "-q", "--jobs", "1",
                "--format", "md,html,pdf" if index < PDF_CASES else "md,html"]
        args += ["--templates", str(lab)] if case["templates"] == "lab" else []
        args += ["--project-to", "8,20,200"] if case["projection"] == "project_to" else []
        if case["since"] == "previous":
            assert main(args + ["--now", (WHEN - timedelta(days=2)).isoformat()]) == 0, case
        error_file = root / f"err{index}"
        with error_file.open("w") as handle, _stderr_to(handle):
            code = main(args + ["--now", WHEN.isoformat()])
        results.append(Rendered(case, code, error_file.read_text(), out / run.name))
    return results


class _stderr_to:
    """Capture the CLI's one-line error for the assertion message."""

    def __init__(self, handle) -> None:
        self.handle = handle

    def __enter__(self) -> None:
        import sys

        self.saved, sys.stderr = sys.stderr, self.handle

    def __exit__(self, *exc: object) -> None:
        import sys

        sys.stderr = self.saved


def _english_fragments() -> list[str]:
    """Long English pieces of catalog messages (between placeholders): none may appear in a zh report."""
    with (BUILTIN_TEMPLATES / "locale" / "en" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        ids = [m.id for m in read_po(handle) if m.id]
    texts = [t for i in ids for t in (i if isinstance(i, tuple) else (i,))]
    pieces = {p.strip() for t in texts for p in re.split(r"%\(\w+\)s", t.replace("%%", "%"))}
    return sorted(p for p in pieces if len(p) >= 24 and p.count(" ") >= 3)


LEFTOVERS = re.compile(r"%\(|\{\{|\{%|\bNone\b(?!\.(?:</li>|\n)| that the data)|(?<![A-Za-z])nan(?![A-Za-z])")
"""Template syntax, a placeholder, Python's None (the sentences "None." and "None that the data supports yet." are fine) or nan."""


def _documents(r: Rendered) -> list[Path]:
    return [r.folder / f"report.{lang}.{fmt}" for lang in r.case["lang"].split(",") for fmt in ("md", "html")]


@pytest.mark.parametrize("index", range(len(CASES)))
def test_every_case_renders_without_leftovers(rendered: list[Rendered], index: int) -> None:
    r = rendered[index]
    assert r.code == 0, (r.case, r.error)
    summary = json.loads((r.folder / "summary.json").read_text())
    codes = [f["code"] for f in summary["findings"]] + [c["code"] for c in summary["checklist"]]
    english = _english_fragments()
    for path in _documents(r):
        text = path.read_text()
        assert not LEFTOVERS.findall(text), (path.name, r.case, LEFTOVERS.findall(text)[:5])
        for code in codes:
            assert code not in text, (path.name, code)
        if ".zh." in path.name:
            untranslated = [p for p in english if p in text]
            assert not untranslated, (r.case, untranslated[:3])
        if path.suffix == ".md" and r.case["templates"] == "lab":
            assert "<!-- lab partial -->" in text
    if index < PDF_CASES:
        assert all((r.folder / f"report.{lang}.pdf").stat().st_size > 0 for lang in r.case["lang"].split(","))


# Hypothesis: any Analysis the real analyse() builds from a random history renders in both languages.

METRIC_KEYS = ("val_acc", "nmi", "eval_loss", "accuracy", "验证准确率")
values = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def random_runs(draw):
    n = draw(st.integers(min_value=1, max_value=25))
    metric = draw(st.lists(values | st.just(float("nan")), min_size=n, max_size=n).filter(
        lambda v: any(x == x for x in v)))
    loss = draw(st.none() | st.lists(st.floats(min_value=0.0, max_value=10.0) | st.just(float("inf")),
                                     min_size=n, max_size=n))
    events = draw(st.lists(st.sampled_from(["finished", "early_stop", "crash"]), max_size=1))
    rows = [("t", "a")] * draw(st.integers(0, 20)) + [("t", "b")] * draw(st.integers(0, 5))
    return make_run(metric, loss, metric_key=draw(st.sampled_from(METRIC_KEYS)), start=draw(st.sampled_from([0, 1])),
                    planned=draw(st.none() | st.integers(1, 40)), dataset=draw(st.sampled_from([None, "IEMOCAP-DA"])),
                    events=tuple(Event(kind, float(n - 1)) for kind in events),
                    labels=make_labels(rows + [("t", "label")]) if rows else None,
                    wall_hours=draw(st.none() | st.sampled_from([1 / 3600, 0.5])),
                    last_write=NOW - timedelta(hours=draw(st.sampled_from([0, 3, 72]))),
                    split=draw(st.sampled_from([None, "train+dev", "test"])))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(run=random_runs(), project_to=st.sampled_from([(), (5, 30)]))
def test_any_analysis_renders(run, project_to) -> None:
    try:
        analysis = analyse(run, NOW, published_results(), project_to=project_to, calibration=projection_calibration())
    except ReporterError:
        return  # a refusal with one line (e.g. no finite metric value) is a valid outcome
    context = present(analysis)
    for lang in ("zh", "en"):
        for output, name in (("md", "report.md.j2"), ("html", "report.html.j2")):
            text = render_template(environment(lang, output), name, c=context, date=format_date(NOW, lang),
                                   figures={})
            assert not LEFTOVERS.findall(text), (lang, output, LEFTOVERS.findall(text)[:5])
