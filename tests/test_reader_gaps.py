"""The reader gaps the labelled real runs found (tests/fixtures/real-runs, "reader gap:" notes): each real file reads.

Histories pandas wrote (an unnamed index column, or a Keras History without one), Lightning hparams.yaml with the
python tags its yaml.dump writes, and a CSV with one garbled row.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from reporter.cli import main
from reporter.report.ingest import load_run

RUNS = ROOT / "tests" / "fixtures" / "real-runs"


def _epochs(run_id: str, key: str) -> list[float]:
    history = load_run(str(RUNS / run_id)).history
    return history.loc[history["key"] == key, "x"].tolist()


def test_a_keras_history_without_an_epoch_column_counts_its_rows_from_epoch_0() -> None:
    run = load_run(str(RUNS / "keras-fruit-freshness"))
    val_loss = run.history[run.history["key"] == "val_loss"]
    assert val_loss["x"].tolist() == list(range(50))
    assert val_loss.loc[val_loss["value"].idxmin(), "x"] == 0  # labelled: val_loss lowest at the first epoch
    assert run.epoch_base == 0 and run.family == "dataframe-csv"
    assert _epochs("keras-digit-recognition", "lr") == list(range(20))
    assert load_run(str(RUNS / "keras-dm2024-log1")).family == "csv"  # CSVLogger names its epoch column


@pytest.mark.parametrize("run_id, last", [("keras-plantasia", 19), ("keras-tvn-video", 45),
                                          ("other-3dresnet-video", 94), ("other-videomae-video", 99)])
def test_an_unnamed_index_column_is_the_epoch(run_id: str, last: int) -> None:
    assert _epochs(run_id, "val_loss") == list(range(last + 1))


@pytest.mark.parametrize("text", [
    "x,y,loss\n1,2,0.5\n3,4,0.4\n",  # numbers and a loss, but not a Keras History's keys
    "loss,val_loss,val_f1\n0.5,0.6,0.1\n",  # val_f1 without its f1
    ",text,label\n0,hello,greeting\n",  # a labels table pandas wrote with its index: no loss
])
def test_a_csv_without_an_epoch_column_that_is_no_history_is_still_refused(tmp_path: Path, text: str,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "table.csv").write_text(text, encoding="utf-8")
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "out"), "-q"]) == 2
    assert "no training history found" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_unnamed_first_column_that_is_no_epoch_index_is_refused_naming_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    history = tmp_path / "history.csv"
    history.write_text(",loss,val_loss\na,0.5,0.6\nb,0.4,0.5\n", encoding="utf-8")
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{history}: the unnamed first column is not an epoch index" in err and "Traceback" not in err


@pytest.mark.parametrize("run_id", ["lightning-finance-v0", "lightning-finance-v3"])
def test_lightning_hparams_with_a_python_name_tag_keep_every_hyperparameter(run_id: str) -> None:
    hyperparameters = load_run(str(RUNS / run_id)).hyperparameters
    assert hyperparameters["optimizer"] == "torch.optim.adam.Adam"
    assert hyperparameters["learning_rate"] == 0.0001 and hyperparameters["target"] == "Apple"


def test_lightning_hparams_with_a_pathlib_object_read_as_the_path(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(RUNS / "lightning-dlops-v14", run)
    (run / "hparams.yaml").write_text("data_dir: !!python/object/apply:pathlib.PosixPath\n- /\n- data\n- mnist\n"
                                      "batch_size: 64\n", encoding="utf-8")
    assert dict(load_run(str(run)).hyperparameters) == {"data_dir": "/data/mnist", "batch_size": 64}
    assert main(["report", str(RUNS / "lightning-dlops-v14"), "--out", str(tmp_path / "out"), "-q"]) == 0


def test_one_garbled_row_is_left_out_and_the_report_and_summary_say_which_line(tmp_path: Path) -> None:
    run_id = "other-vesuvius-videomae"
    assert main(["report", str(RUNS / run_id), "--out", str(tmp_path), "--format", "md", "--lang", "en,zh", "-q"]) == 0
    summary = json.loads((tmp_path / run_id / "summary.json").read_text(encoding="utf-8"))
    (skipped,) = [f for f in summary["findings"] if f["code"] == "history.rows_skipped"]
    assert skipped["severity"] == "warn" and skipped["params"]["lines"] == [28] and skipped["params"]["count"] == 1
    assert "left out: line 28." in (tmp_path / run_id / "report.en.md").read_text(encoding="utf-8")
    assert "第 28 行" in (tmp_path / run_id / "report.zh.md").read_text(encoding="utf-8")
    epochs = _epochs(run_id, "val_loss")
    assert 24 in epochs and 27 in epochs and 25 not in epochs and 26 not in epochs  # line 28 held both, joined


def test_a_csv_with_many_garbled_rows_is_still_refused_naming_the_first(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    rows = [f"{epoch},0.{9 - epoch}" + (",0.5,0.4" if epoch in (2, 5) else "") for epoch in range(10)]
    (tmp_path / "metrics.csv").write_text("epoch,loss\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "malformed CSV" in err and "line 4" in err
    assert not (tmp_path / "out").exists()
