"""Each real library writes a small run at test time; `reporter report FOLDER` (no options) must read it right.

One test per (library, check). A check today's reporter still gets wrong is a strict xfail naming the
row of issue 13: fixing it makes the test fail loudly until the marker is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reporter.cli import main
from reporter.report.ingest import load_run

WRITERS = Path(__file__).with_name("writers.py")
CHECKS = ("exit", "format", "metric", "best", "planned", "hyperparameters", "status", "keys", "findings")
PARAMS = {"lr": 0.01, "batch_size": 64, "epochs": 30, "optimizer": "sgd"}


@dataclass(frozen=True)
class Expected:
    """What the run's own library says: detected format, primary metric, plan, hyperparameters, status."""

    format: str
    metric: str
    planned: int | None
    status: tuple[str, ...]
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    folder: str = ""
    keys: tuple[str, ...] = ()
    not_keys: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()
    """History keys that must be read, keys that must not be, and finding codes the report must carry."""
    wrong_today: dict[str, str] = field(default_factory=dict)
    """check -> the issue 13 row it belongs to, for the checks reporter still fails."""


# A run just written, without an end marker and without a plan, may still be running.
JUST_WRITTEN = ("running", "unknown")

CASES: dict[str, Expected] = {
    "mlflow-sqlite": Expected("mlflow-sqlite", "val_accuracy", 30, ("finished",), PARAMS, findings=("metric.chosen",)),
    "mlflow-filestore": Expected("mlflow-metric", "val_accuracy", 30, ("finished",), PARAMS),
    "torch-tensorboard": Expected("tensorboard", "Accuracy/val", None, JUST_WRITTEN),
    "torch-tensorboard-hparams": Expected("tensorboard", "Accuracy/val", 30, ("finished",), PARAMS,
                                          not_keys=("hparam/best_val_accuracy",)),
    "tensorboardx": Expected("tensorboard", "val/accuracy", None, JUST_WRITTEN),
    "lightning-csv": Expected("csv", "val_acc", 30, ("finished",), {"lr": 0.05, "batch_size": 64, "max_epochs": 30},
                              folder="lightning_logs/version_0", keys=("lr-SGD",), not_keys=("step",)),
    "hf-trainer": Expected("hf-trainer-state", "eval_accuracy", 4, ("finished",),
                           {"num_train_epochs": 4, "train_batch_size": 16}, findings=("metric.chosen",)),
    "keras-csv-resume": Expected("csv", "val_accuracy", 30, ("finished",), findings=("run.resumed",)),
    "keras-tensorboard": Expected("tensorboard", "validation/epoch_accuracy", None, JUST_WRITTEN),
    "wandb-offline": Expected("wandb", "val_accuracy", 30, ("finished",), PARAMS),
}


@dataclass(frozen=True)
class Reported:
    written: dict[str, Any]
    exit: int
    stderr: str
    summary: dict[str, Any] | None
    keys: tuple[str, ...]
    folder: str


def _environment(home: Path) -> dict[str, str]:
    """No network, no GPU, nothing written outside the test's own folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "WANDB_", "HF_"))}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HOME=str(home / "hf"), WANDB_MODE="offline",
               WANDB_SILENT="true", WANDB_CONFIG_DIR=str(home / "wandb-config"), WANDB_CACHE_DIR=str(home / "wandb"),
               MLFLOW_ALLOW_FILE_STORE="true", KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3",
               CUDA_VISIBLE_DEVICES="", PYTHONHASHSEED="0")
    return env


@pytest.fixture(scope="session")
def reports() -> dict[str, Reported]:
    """Each library's run and report, made once per session and shared by its checks."""
    return {}


def _report(name: str, reports: dict[str, Reported], tmp_path_factory: pytest.TempPathFactory,
            capsys: pytest.CaptureFixture) -> Reported:
    """Write the run once per session with the real library, then `reporter report FOLDER`."""
    if name in reports:
        return reports[name]
    base = tmp_path_factory.mktemp(name)
    run = base / name
    done = subprocess.run([sys.executable, str(WRITERS), name, str(run)], capture_output=True, text=True,
                          env=_environment(base), timeout=600, cwd=base)
    assert done.returncode == 0, f"{name} writer failed:\n{done.stderr[-3000:]}"
    written = json.loads(done.stdout.strip().splitlines()[-1])
    folder = run / CASES[name].folder
    with contextlib.chdir(base):
        capsys.readouterr()
        code = main(["report", str(folder)])
        stderr = capsys.readouterr().err
    summary_path = base / "out" / folder.name / "summary.json"
    summary = json.loads(summary_path.read_text()) if code == 0 and summary_path.exists() else None
    keys = tuple(load_run(str(folder)).history["key"].unique()) if code == 0 else ()
    reports[name] = Reported(written, code, stderr, summary, keys, str(folder))
    return reports[name]


def _cases() -> list[Any]:
    params = []
    for name, expected in CASES.items():
        for check in CHECKS:
            reason = expected.wrong_today.get(check)
            marks = [pytest.mark.xfail(strict=True, reason=f"issue 13: {reason}")] if reason else []
            params.append(pytest.param(name, check, marks=marks, id=f"{name}-{check}"))
    return params


@pytest.mark.parametrize(("name", "check"), _cases())
def test_client_run(name: str, check: str, reports: dict[str, Reported],
                    tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture) -> None:
    reported = _report(name, reports, tmp_path_factory, capsys)
    expected = CASES[name]
    assert reported.exit == 0, reported.stderr
    summary = reported.summary
    assert summary is not None
    if check == "format":
        assert {s["format"] for s in summary["run"]["sources"]} & {expected.format}, summary["run"]["sources"]
    elif check == "metric":
        assert summary["primary_metric"]["name"] == expected.metric
    elif check == "best":
        assert summary["best"]["value"] == pytest.approx(reported.written["best_value"], rel=1e-6)
        assert summary["best"]["epoch"] == reported.written["best_epoch"]
    elif check == "planned":
        assert summary["run"]["planned_epochs"] == expected.planned
    elif check == "hyperparameters":
        shown = summary["run"]["hyperparameters"]
        assert {k: (shown.get(k), type(shown.get(k))) for k in expected.hyperparameters} == \
               {k: (v, type(v)) for k, v in expected.hyperparameters.items()}
    elif check == "status":
        assert summary["run"]["status"] in expected.status
    elif check == "keys":
        keys = set(reported.keys)
        assert set(expected.keys) <= keys and not set(expected.not_keys) & keys, sorted(keys)
    elif check == "findings":
        assert set(expected.findings) <= {f["code"] for f in summary["findings"]}


def test_wandb_run_cut_mid_record_reads_up_to_the_last_complete_record(
        reports: dict[str, Reported], tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture,
        tmp_path: Path) -> None:
    """A run still writing: the file ends inside a record, and there is no exit record yet."""
    reported = _report("wandb-offline", reports, tmp_path_factory, capsys)
    whole = next(Path(reported.folder).glob("wandb/offline-run-*/run-*.wandb"))
    cut = tmp_path / "cut" / whole.name
    cut.parent.mkdir()
    cut.write_bytes(whole.read_bytes()[:len(whole.read_bytes()) * 2 // 3])
    run = load_run(str(cut.parent))
    epochs = run.history.loc[run.history["key"] == "val_accuracy", "x"]
    assert 5 < len(epochs) < 30 and list(epochs) == list(range(len(epochs)))
    assert not [e for e in run.events if e.kind == "finished"]
