"""Wording defects QA found in the diagnosis (issue #15): hyperparameter numbers, the regularise advice, the
fitness formula the appendix states, and the catalog tool's diff noise."""

from __future__ import annotations

import importlib.util
import json
from datetime import datetime, timezone
from pathlib import Path

from babel.messages.pofile import read_po
from conftest import ROOT

from reporter.cli import main
from reporter.model import Analysis
from reporter.report.analysis import analyse
from reporter.report.ingest import load_run
from reporter.report.render.environment import Numbers

RUNS = ROOT / "tests" / "fixtures" / "real-runs"
NOW = datetime(2026, 12, 5, 12, tzinfo=timezone.utc)


def _analysis(run_id: str) -> Analysis:
    return analyse(load_run(RUNS / run_id), NOW)


def _report(run: Path, out: Path, lang: str = "en") -> str:
    assert main(["report", str(run), "--out", str(out), "--format", "md", "--lang", lang, "--now",
                 "2026-12-05T12:00:00", "-q"]) == 0
    return (out / run.name / f"report.{lang}.md").read_text(encoding="utf-8")


def test_hyperparameter_floats_show_four_significant_digits() -> None:
    """hf-whisper-flemish: 'warms up from 3.920000000000001e-06 to 9.933793103448277e-06'."""
    hp = Numbers("en").scientific
    assert (hp(3.920000000000001e-06), hp(9.933793103448277e-06)) == ("3.92e-06", "9.934e-06")
    assert (hp(0.0002), hp(2e-05), hp(0.0), hp(0.00021532)) == ("0.0002", "2e-05", "0.0", "0.0002153")


def test_the_hf_max_steps_sentinel_is_no_epoch_count(tmp_path: Path) -> None:
    """hf-whisper-flemish: num_train_epochs 9223372036854775807 (sys.maxsize: max_steps governs) was shown as a
    number and taken as the plan."""
    text = _report(RUNS / "hf-whisper-flemish", tmp_path)
    assert "9223372036854775807" not in text and "9,223,372,036,854,775,807" not in text
    run = load_run(RUNS / "hf-whisper-flemish")
    assert "num_train_epochs" not in run.hyperparameters and (run.plan is None or run.plan.epochs < 10**6)


def test_a_validation_loss_varying_in_its_fifth_digit_is_constant_to_four_digits(tmp_path: Path) -> None:
    """lightning-autoapi-v5: 'val_loss is 1.2533E12 in all 100 epochs' while it varies 1.25320e12-1.25329e12."""
    text = _report(RUNS / "lightning-autoapi-v5", tmp_path)
    assert "to 4 significant digits in all 100 epochs" in text
    assert " in all 100 epochs. That" in text and "is 1.2533E12 in all" not in text


def test_a_flat_validation_loss_is_not_told_to_stop_rising_and_a_classifier_gets_no_mosaic() -> None:
    """yolo-cls-skin-train: a generalisation gap (val/loss flat) got 'so that val/loss stops rising' and 'raise
    mosaic' (a classifier has none), though its dropout: 0.0 is the setting to turn on."""
    a = _analysis("yolo-cls-skin-train")
    rec = next(r for r in a.recommendations if r.code == "rec.regularise")
    assert rec.params["classify"] and not rec.params["rising"]
    assert rec.change is not None and (rec.change.key, rec.change.current, rec.change.suggested) == ("dropout", 0.0, 0.1)


def test_a_two_epoch_run_that_logs_every_epoch_is_not_told_to_log_every_epoch(tmp_path: Path) -> None:
    """Two epochs are too few for a trend, but the metric is logged every epoch: 'Log the monitored metric every
    epoch … not only the best so far' was wrong advice."""
    run = tmp_path / "two-epochs"
    run.mkdir()
    (run / "history.csv").write_text("epoch,loss,val_acc\n0,1.2,0.51\n1,0.9,0.63\n", encoding="utf-8")
    assert main(["report", str(run), "--out", str(tmp_path / "out"), "--format", "md", "--lang", "en", "-q"]) == 0
    summary = json.loads((tmp_path / "out" / "two-epochs" / "summary.json").read_text(encoding="utf-8"))
    assert "rec.log_metric_every_epoch" not in json.dumps(summary)


def test_the_appendix_states_the_classification_fitness(tmp_path: Path) -> None:
    """yolo-cls runs: the appendix gave 0.1 × mAP50 + 0.9 × mAP50-95 though the code used (top1 + top5) / 2."""
    text = _report(RUNS / "yolo-cls-skin-train", tmp_path)
    assert "fitness (0.5 × top-1 accuracy + 0.5 × top-5 accuracy)" in text and "mAP50-95" not in text


def test_updating_the_catalogs_twice_changes_nothing(tmp_path: Path) -> None:
    """make catalogs rewrote POT-Creation-Date on every run: diff noise in every branch."""
    spec = importlib.util.spec_from_file_location("update_catalogs", ROOT / "tools" / "update_catalogs.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    source = ROOT / "templates" / "locale" / "en" / "LC_MESSAGES" / "messages.po"
    path = tmp_path / "messages.po"
    path.write_bytes(source.read_bytes())
    catalog = read_po(path.open("rb"), locale="en")
    created = catalog.creation_date
    catalog.creation_date = datetime(2030, 1, 1, tzinfo=timezone.utc)  # what catalog.update sets: the extract's time
    tool._write_if_changed(path, catalog, created)
    assert path.read_bytes() == source.read_bytes()


def test_a_whole_constant_reads_without_decimals(tmp_path: Path) -> None:
    """A logged parameter count read "'n_parameters' is 1,234,567.0000 in all 30 epochs": four decimals that no
    count has. Whole constants read as whole numbers; a learning rate keeps its digits."""
    rows = "".join(f"{e},{1 / (e + 1)},{0.5 + e / 100},1234567,0.0005\n" for e in range(30))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.csv").write_text("epoch,train_loss,val_acc,n_parameters,lr\n" + rows)
    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "out"), "--format", "md",
                 "--now", "2026-12-01T12:00:00", "-q"]) == 0
    en = (tmp_path / "out" / "run" / "report.en.md").read_text()
    assert "'n\\_parameters' is 1,234,567 in all 30 epochs" in en and "'lr' is 0.0005 in all" in en
    assert "都是 1,234,567：" in (tmp_path / "out" / "run" / "report.zh.md").read_text()
