"""Run data is untrusted: names, labels and values appear as text in every format."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from reporter.cli import main
from reporter.report.ingest import load_run

HOSTILE_NAME = 'evil <script>alert(1)</script> | [x](javascript:alert(1)) "quote'


def test_hostile_name_and_label_are_escaped(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree("examples/iemocap-da", run)
    toml = (run / "run.toml").read_text().replace('name = "UMC (fork) on IEMOCAP-DA, seed 0"',
                                                    f"name = '{HOSTILE_NAME}'")
    (run / "run.toml").write_text(toml)
    labels = (run / "data" / "train_dev.tsv").read_text().replace("\ts\n", "\t<img src=x onerror=alert(1)>|s\n", 3)
    (run / "data" / "train_dev.tsv").write_text(labels)
    assert main(["report", str(run), "--out", str(tmp_path / "out"), "--format", "md,html", "-q"]) == 0
    html = (tmp_path / "out" / "run" / "report.en.html").read_text()
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html
    md = (tmp_path / "out" / "run" / "report.en.md").read_text()
    assert "<script>" not in md and not re.search(r"(?<!\\)\]\(javascript:", md)
    table_rows = [line for line in md.splitlines() if line.startswith("| ") and "img src" in line]
    assert table_rows and all(row.count(" | ") == 2 for row in table_rows)  # the | in the label is escaped


def test_a_python_tag_in_a_sidecar_yaml_runs_nothing(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree("tests/fixtures/real-runs/lightning-finance-v0", run)
    marker = tmp_path / "pwned"
    (run / "hparams.yaml").write_text(f"lr: 0.01\nhook: !!python/object/apply:os.system ['touch {marker}']\n"
                                      f"other: !!python/object/new:subprocess.check_call [['touch', '{marker}']]\n")
    assert main(["report", str(run), "--out", str(tmp_path / "out"), "--format", "md", "--lang", "en", "-q"]) == 0
    assert not marker.exists()
    assert load_run(str(run)).hyperparameters["hook"] == "os.system"  # the name it spells, as text
