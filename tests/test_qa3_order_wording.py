"""Third QA pass of issue 15, part 2 items 4, 6, 8, 12, 13 and part 1 items 21, 22: the most important finding and
recommendation first, a Summary that accounts for every watch item it counts, the reason of a verdict beside it,
counterfactual text that names its series and its noise, and en/zh wording that says what it means."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import ROOT

from reporter.cli import main

REAL = ROOT / "tests" / "fixtures" / "real-runs"


def _text(run: str, out: Path, lang: str = "en") -> str:
    assert main(["report", str(REAL / run), "--out", str(out), "--format", "md", "--lang", lang, "--jobs", "1",
                 "--now", "2026-12-05T12:00:00", "-q"]) == 0
    return (out / run / f"report.{lang}.md").read_text()


def _section(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def test_divergence_comes_before_the_counterfactual_and_the_summary_accounts_for_every_watch_item(tmp_path: Path) -> None:
    """other-volatility: losses ×9 and a swinging val_loss, yet the early-stopping replay came first (item 4)."""
    text = _text("other-volatility", tmp_path)
    watch = [line for line in _section(text, "### Watch items", "### Key metrics").splitlines() if line.startswith("- ⚠")]
    assert "growing" in watch[0] and "would have stopped" in watch[-1]
    recs = re.findall(r"^\d\. \*\*(.+?)\*\*", _section(text, "## 3.", "## 4."), re.M)
    assert recs[0].startswith("Stabilise training") and recs[-1] == "Stop early"
    summary = _section(text, "## 7. Summary", "## Appendix")
    listed = [line for line in summary.splitlines() if line.startswith("- ")]
    assert "4 watch items" in summary and len(listed) == 4 and listed[-1] == "- and 1 more: see section 1."


def test_a_verdict_without_watch_items_says_why_at_the_top_and_asks_for_a_validation_loss(tmp_path: Path) -> None:
    """deit-mae-finetune: Needs attention, "Watch items: None", rec "keep the configuration" (item 8)."""
    text = _text("deit-mae-finetune", tmp_path)
    assert "Verdict: **Needs attention**" in text
    watch = _section(text, "### Watch items", "### Key metrics")
    assert "The fit was not judged" in watch and "None." not in watch
    assert "The fit was not judged" not in _section(text, "### Other observations", "## 2.")
    recs = _section(text, "## 3.", "## 4.")
    assert "1. **Log a validation loss**" in recs and "keep the configuration" not in recs


def test_the_counterfactual_names_its_series_and_says_a_later_best_is_within_noise(tmp_path: Path) -> None:
    """lightning-autoapi-v42: "the 93 epochs after it brought no improvement" beside a later best at 96 (item 6)."""
    text = _text("lightning-autoapi-v42", tmp_path)
    assert "the best checkpoint by val\\_loss is at epoch 6" in text
    assert "brought no improvement beyond the curve's noise. The later best of val\\_loss at epoch 96" in text
    assert "brought no improvement. The later best" not in text


def test_wording_says_which_way_is_better_and_which_framework_applies(tmp_path: Path) -> None:
    """Item 12: the stability label, a loss's trend direction, HF's primary metric, the verdict rule; #22 digits."""
    volatility = _text("other-volatility", tmp_path)
    assert "| Stability (higher means less noise around the trend; 0 to 1) |" in volatility
    assert "val\\_loss (lower is better) rises, robust slope +0.0443" in volatility
    assert "The metric is declining" not in volatility
    assert "or when the fit was not judged at its best or still improving" not in volatility
    flemish = _text("hf-whisper-flemish", tmp_path)
    chosen = next(line for line in flemish.splitlines() if line.startswith("- Primary metric:"))
    assert "the metric Hugging Face's Trainer keeps its best model by" in chosen and "Ultralytics" not in chosen
    assert "the noise around the trend is only 3.54." in _text("other-wheeze", tmp_path)


def test_zh_wording_reads_naturally(tmp_path: Path) -> None:
    """Item 13 and #21: "500 个 epoch 中的 500 个", brackets around series names, 轮 beside epoch, 第 13.02 个."""
    oral = _text("yolov5-oral-exp", tmp_path, "zh")
    assert "中的 500 个后" not in oral and "训练跑完计划的全部 500 个 epoch 后正常结束" in oral
    assert "训练更多轮" not in oral and "计划更多轮数" not in oral and "最后记录的一轮" not in oral
    assert "验证 val" not in oral
    flemish = _text("hf-whisper-flemish", tmp_path, "zh")
    assert "第 13.02 个" not in flemish and "位于 epoch 13.02 处" in flemish
    catalog = (ROOT / "templates" / "locale" / "zh" / "LC_MESSAGES" / "messages.po").read_text()
    assert not re.findall(r"msgstr .*轮(?!廓)", catalog)  # epoch is "epoch" in every zh sentence


def test_still_gaining_is_one_test_and_each_text_states_its_window(tmp_path: Path) -> None:
    """Item 5: yolo-dl3-train2 was "improving" (+0.0001 per epoch, significant) and "settled" in one report;
    yolo-microalgae-detect was told to train more beside "no new best in the last 54 epochs"."""
    dl3 = _text("yolo-dl3-train2", tmp_path)
    assert "The metric is improving" not in dl3
    assert "The metric has settled: it moved by 0.0354% over the last 8 evaluations, less than the 2%" in dl3
    assert "has settled: it no longer gains clearly over those 100 evaluations" in dl3
    algae = _text("yolo-microalgae-detect", tmp_path)
    assert "More training is likely to help" not in algae and "Train for more epochs" not in algae
    mouse = _text("yolo-mouse-keyboard", tmp_path)
    assert "still gains 6.7% over those 33 evaluations. More training is likely to help." in mouse
