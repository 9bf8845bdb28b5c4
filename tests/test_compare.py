"""`reporter compare` end to end: golden reports of the seeds-vs-seeds example, the compare.json contract,
the honesty rules, refusals with exit 2, the PDF's text and the HTML in a browser.

After an intended change: `make golden` rewrites tests/golden/compare-mnist-lr/ too; review the diff.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pytest

from reporter.cli import main
from reporter.lab.compare import stats
from reporter.model import Mode
from tests.test_golden import assert_matches_golden

GOLDEN = Path(__file__).parent / "golden" / "compare-mnist-lr"
EXAMPLE = Path("examples/compare-mnist-lr")
NOW = "2025-03-15T09:00:00"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("compare")
    assert main(["compare", "learning-rate", "--config", str(EXAMPLE / "lab.toml"), "--out", str(out),
                 "--format", "md,html", "--now", NOW, "-q"]) == 0
    return out / "compare" / "learning-rate"


@pytest.mark.parametrize("name", ["compare.zh.md", "compare.en.md", "compare.zh.html", "compare.en.html",
                                  "compare.json"])
def test_example_comparison_matches_golden(rendered: Path, name: str) -> None:
    assert_matches_golden(rendered / name, GOLDEN / name)


def test_folders_on_the_command_line_give_the_same_comparison(rendered: Path, tmp_path: Path) -> None:
    groups = [str(EXAMPLE / name) for name in ("lr-0.001", "lr-0.003", "lr-0.0008")]
    assert main(["compare", *groups, "--out", str(tmp_path), "--format", "md", "--lang", "en", "--now", NOW, "-q"]) == 0
    written = tmp_path / "compare" / "lr-0.001-vs-lr-0.003-vs-lr-0.0008"
    assert json.loads((written / "compare.json").read_text()) == json.loads((rendered / "compare.json").read_text())


def test_compare_json_follows_the_contract_and_verdicts_agree_with_the_numbers(rendered: Path) -> None:
    data = json.loads((rendered / "compare.json").read_text())
    assert set(data) == {"metric", "mode", "baseline", "groups", "comparisons"}
    assert (data["metric"], data["mode"], data["baseline"]) == ("val_acc", "max", "lr-0.001")
    assert [(g["name"], g["n"]) for g in data["groups"]] == [("lr-0.001", 6), ("lr-0.003", 2), ("lr-0.0008", 2)]
    for group in data["groups"]:
        assert set(group) == {"name", "runs", "n", "final", "best"} and len(group["runs"]) == group["n"]
        assert set(group["final"]) == set(group["best"]) == {"mean", "std", "ci_low", "ci_high"}
        assert group["final"]["ci_low"] <= group["final"]["mean"] <= group["final"]["ci_high"]
    for row in data["comparisons"]:
        assert set(row) == {"group", "baseline", "diff", "ci_low", "ci_high", "p_improve", "welch_p", "verdict"}
        n = {g["name"]: g["n"] for g in data["groups"]}
        expected = stats.verdict((row["ci_low"], row["ci_high"]), row["welch_p"], n[row["baseline"]], n[row["group"]],
                                 Mode.MAX)
        assert row["verdict"] == expected.value
    assert [r["verdict"] for r in data["comparisons"]] == ["better", "no_detectable_difference"]


def _write_run(folder: Path, metric: list[float], key: str = "val_acc", **hyper: object) -> None:
    folder.mkdir(parents=True)
    rows = "\n".join(f"{epoch},{value},{1.0 / (epoch + 1)}" for epoch, value in enumerate(metric))
    (folder / "history.csv").write_text(f"epoch,{key},loss\n{rows}\n")
    if hyper:
        (folder / "hparams.yaml").write_text("".join(f"{k}: {v}\n" for k, v in hyper.items()))


def _compare(tmp_path: Path, *groups: str, extra: tuple[str, ...] = ()) -> tuple[int, Path]:
    out = tmp_path / "out"
    code = main(["compare", *groups, "--out", str(out), "--format", "md", "--lang", "en", "--now", NOW, "-q", *extra])
    return code, out


def test_one_seed_each_says_nothing_can_be_concluded(tmp_path: Path) -> None:
    _write_run(tmp_path / "a", [0.5, 0.6, 0.7], lr=0.1)
    _write_run(tmp_path / "b", [0.5, 0.7, 0.8], lr=0.2)
    code, out = _compare(tmp_path, str(tmp_path / "a"), str(tmp_path / "b"))
    assert code == 0
    data = json.loads((out / "compare" / "a-vs-b" / "compare.json").read_text())
    assert data["comparisons"][0]["verdict"] == "too_few_seeds"
    text = (out / "compare" / "a-vs-b" / "compare.en.md").read_text()
    assert "nothing can be concluded about the configurations" in text
    assert "| `lr` | 0.1 | 0.2 |" in text


def test_a_diverged_seed_is_left_out_and_named(tmp_path: Path) -> None:
    for index, last in enumerate([0.7, 0.71, math.nan]):
        _write_run(tmp_path / "a" / f"seed{index}", [0.5, 0.6, last])
    for index, last in enumerate([0.8, 0.81, 0.79]):
        _write_run(tmp_path / "b" / f"seed{index}", [0.5, 0.6, last])
    code, out = _compare(tmp_path, str(tmp_path / "a"), str(tmp_path / "b"))
    assert code == 0
    data = json.loads((out / "compare" / "a-vs-b" / "compare.json").read_text())
    assert data["groups"][0]["n"] == 2 and data["groups"][0]["runs"] == ["seed0", "seed1", "seed2"]
    assert "1 run ended with a non-finite value (diverged) and is left out of the statistics: seed2" in \
        (out / "compare" / "a-vs-b" / "compare.en.md").read_text()


def test_a_glob_is_a_group_and_baseline_can_be_named(tmp_path: Path) -> None:
    for index, last in enumerate([0.70, 0.71, 0.72]):
        _write_run(tmp_path / f"base-{index}", [0.5, last])
    for index, last in enumerate([0.60, 0.61, 0.62]):
        _write_run(tmp_path / f"new-{index}", [0.5, last])
    code, out = _compare(tmp_path, str(tmp_path / "new-*"), str(tmp_path / "base-*"),
                         extra=("--baseline", str(tmp_path / "base-*")))
    assert code == 0
    [folder] = (out / "compare").iterdir()
    data = json.loads((folder / "compare.json").read_text())
    assert data["comparisons"][0]["verdict"] == "worse" and data["comparisons"][0]["diff"] < 0


def test_different_metrics_are_refused(tmp_path: Path, capsys) -> None:
    _write_run(tmp_path / "a", [0.5, 0.6], key="val_acc")
    _write_run(tmp_path / "b", [0.5, 0.6], key="val_f1")
    code, out = _compare(tmp_path, str(tmp_path / "a"), str(tmp_path / "b"))
    assert code == 2 and not out.exists()
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "different metrics" in error and "--metric" in error


def test_different_splits_are_flagged(tmp_path: Path) -> None:
    _write_run(tmp_path / "a", [0.5, 0.6], key="val_acc")
    _write_run(tmp_path / "b", [0.5, 0.6], key="val_acc")
    (tmp_path / "b" / "run.toml").write_text('[metric]\nname = "val_acc"\nsplit = "test"\n')
    code, out = _compare(tmp_path, str(tmp_path / "a"), str(tmp_path / "b"))
    assert code == 0
    assert "different splits (test, val)" in (out / "compare" / "a-vs-b" / "compare.en.md").read_text()


@pytest.mark.parametrize("args, message", [
    (["only-one"], "at least two runs or groups"),
    (["missing-a", "missing-b"], "missing-a: no run, folder or glob match"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    code, _ = _compare(tmp_path, *args)
    error = capsys.readouterr().err
    assert code == 2 and message in error and error.count("\n") == 1


def test_unknown_baseline_exits_2(tmp_path: Path, capsys) -> None:
    _write_run(tmp_path / "a", [0.5, 0.6])
    _write_run(tmp_path / "b", [0.5, 0.7])
    code, _ = _compare(tmp_path, str(tmp_path / "a"), str(tmp_path / "b"), extra=("--baseline", "c"))
    assert code == 2 and "no group named 'c'" in capsys.readouterr().err


def test_experiments_are_validated_all_at_once(tmp_path: Path, capsys) -> None:
    config = tmp_path / "lab.toml"
    config.write_text('[[experiments]]\nname = "x"\nbaseline = "a"\nruns = []\n\n[[experiments]]\nnam = "y"\n')
    code, _ = _compare(tmp_path, "x", extra=("--config", str(config)))
    error = capsys.readouterr().err
    assert code == 2 and "experiments[0].runs: expected a non-empty list" in error
    assert "experiments[1].nam: unknown key (did you mean 'name'?)" in error


def test_pdf_carries_the_verdicts_in_both_languages(tmp_path: Path) -> None:
    from pypdf import PdfReader

    out = tmp_path / "out"
    assert main(["compare", "learning-rate", "--config", str(EXAMPLE / "lab.toml"), "--out", str(out),
                 "--format", "pdf", "--now", NOW, "-q"]) == 0
    folder = out / "compare" / "learning-rate"
    english, chinese = (" ".join(" ".join(page.extract_text() for page in PdfReader(folder / name).pages).split())
                        for name in ("compare.en.pdf", "compare.zh.pdf"))
    assert "Against the baseline" in english and "no detectable difference" in english and "better" in english
    assert "与基线对比" in chinese and "无可检测的差异" in chinese and "更好" in chinese


@pytest.mark.skipif(shutil.which("chromium") is None and shutil.which("chromium-browser") is None,
                    reason="chromium not installed (make test installs it)")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_comparison_in_chromium(rendered: Path, lang: str) -> None:
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 390, "height": 900})
        errors, requests = [], []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("request", lambda request: requests.append(request.url))
        page.goto((rendered / f"compare.{lang}.html").as_uri())
        assert errors == []
        assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
        assert page.evaluate("[...document.images].every(img => img.alt && img.complete && img.naturalWidth > 0)")
        assert page.evaluate("document.documentElement.scrollWidth") <= 391
        browser.close()


def test_digest_shows_one_ablation_table_per_declared_experiment(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from reporter.lab.compare.command import experiment_comparisons
    from reporter.lab.digest import write_digest
    from reporter.report.ingest import load_settings

    now = datetime(2025, 3, 15, 9, tzinfo=timezone.utc)
    ablations = experiment_comparisons(load_settings(EXAMPLE / "lab.toml"), now)
    [path] = write_digest(tmp_path, [], {}, now, "2025-03-08", ("en",), ("md",), None, ablations)
    text = path.read_text()
    assert "## Ablations" in text and "### learning-rate: `val\\_acc` (higher is better), baseline lr-0.001" in text
    assert "| lr-0.003 | 2 | 0.9990 ± 0.0001 | +0.0014 | [0.0007, 0.0022] | 100% | 0.016 | better |" in text


def _comparison_links(out: Path) -> dict[str, list[str]]:
    """Every link to a comparison in each index (html and md, both languages), relative to out/."""
    pattern = re.compile(r'(?:href="|\]\()(compare/[^")]+)')
    return {f"{lang}.{fmt}": pattern.findall((out / f"index.{lang}.{fmt}").read_text())
            for lang in ("zh", "en") for fmt in ("html", "md")}


def test_the_index_links_each_run_to_the_comparisons_that_include_it(tmp_path: Path) -> None:
    """Issue 19: "The index page links each run to its comparisons" (from the batch's index, whichever ran first)."""
    runs, out = tmp_path / "runs", tmp_path / "out"
    for group, last in (("a", 0.70), ("b", 0.80)):
        for seed in range(2):
            _write_run(runs / group / f"seed{seed}", [0.5, last + 0.01 * seed], lr=last)
    _write_run(runs / "other", [0.5, 0.6])
    batch = ["batch", str(runs), "--out", str(out), "--jobs", "1", "-q", "--now", NOW, "--format", "md,html",
             "--lang", "zh,en"]
    assert main(batch) == 0
    assert main(["compare", str(runs / "a"), str(runs / "b"), "--out", str(out), "--format", "md,html", "--now", NOW,
                 "-q"]) == 0
    for _ in range(2):  # right after the comparison, and in the next night's index
        for index, links in _comparison_links(out).items():
            lang, fmt = index.split(".")
            assert links == [f"compare/a-vs-b/compare.{lang}.{fmt}"] * 4, index  # a's and b's seeds, not 'other'
            assert all((out / link).is_file() for link in links)  # relative: from disk and when served
        assert "a-vs-b (b)" in (out / "index.en.md").read_text()
        assert main(batch) == 0
