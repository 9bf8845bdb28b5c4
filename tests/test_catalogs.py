"""Every message exists in zh and en with the same placeholders, and every code has words."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from reporter.model import (
    CheckItem,
    CheckStatus,
    Finding,
    Recommendation,
    Severity,
    frozen_mapping,
)
from reporter.report.render.environment import BUILTIN_TEMPLATES, environment

PLACEHOLDER = re.compile(r"%\(\w+\)s|%%")
LOCALE = BUILTIN_TEMPLATES / "locale"


def catalog(lang: str):
    with (LOCALE / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle)


def template_ids() -> set[str]:
    with (LOCALE / "messages.pot").open("rb") as handle:
        return {m.id for m in read_po(handle) if m.id}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_message_is_translated_with_the_same_placeholders(lang: str) -> None:
    messages = {m.id: m for m in catalog(lang) if m.id}
    assert template_ids() <= messages.keys(), "run `make catalogs` and translate the new messages"
    for message_id in template_ids():
        message = messages[message_id]
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(forms), f"{lang}: untranslated: {message_id!r}"
        assert not message.fuzzy, f"{lang}: fuzzy: {message_id!r}"
        ids = message_id if isinstance(message_id, tuple) else (message_id,)
        allowed = [sorted(PLACEHOLDER.findall(i)) for i in ids]  # a plural's singular may omit %(num)s
        for form in forms:
            assert sorted(PLACEHOLDER.findall(form)) in allowed, message_id


def test_pot_matches_the_templates(tmp_path) -> None:
    """The committed catalog template is what the templates say today."""
    from babel.messages.extract import extract_from_dir

    found = {message for _, _, message, _, _ in extract_from_dir(
        str(BUILTIN_TEMPLATES), method_map=[("**.j2", "jinja2")], options_map={"**.j2": {"extensions": "jinja2.ext.i18n"}})}
    assert {m if isinstance(m, str) else m[:2] for m in found} == template_ids()  # plurals: (singular, plural)


FINDING_CODES = ["run.finished", "run.running", "run.stopped_early", "run.crashed", "run.stalled",
                 "run.planned_from_thres_delta", "umc.early_stop_rule", "metric.missing", "metric.sparse",
                 "metric.insufficient_data", "metric.improving", "metric.plateau", "metric.declining",
                 "metric.oscillating", "metric.stable", "metric.diverged", "monitor.logged", "stability.trend_driven",
                 "loss.flat", "loss.near_ceiling", "fact.constant", "dataset.header_as_class", "dataset.tiny_class",
                 "dataset.imbalance", "reference.compare", "reference.split_mismatch", "projection.capped",
                 "projection.unlikely_target", "projection.improvement_chance", "seeds.summary",
                 "clusters.minority_lost", "clusters.minority_recovered", "clusters.degenerate",
                 "features.poor_separation", "seeds.high_variance", "run.stopped_logging", "run.past_plan",
                 "dataset.mismatch", "clusters.merged", "metric.nan", "run.pretraining", "metric.chosen",
                 "run.resumed"]
PARAMS = dict(last_epoch=9, planned_epochs=97, epoch=9, reason="traceback", hours_since_last=30, typical_hours=0.5,
              thres=0.03, delta=0.01, configured=100, n_points=2, last_metric_epoch=5, best_so_far=True, needed=4,
              window=8, slope=0.01, epochs_since_best=3, noise=0.01, key="loss", trend="improving", stability=0.07,
              improvements=6, degradations=0, best_epoch=5, basis="monotone", relative_change=0.002,
              metric_change=0.4, value=5.18, ceiling=5.25, batch=64, share=0.987, temperature=20, count=2,
              formula="umc_min_samples", n=7532, k=12, label="DA", naive_ratio=869.0, ratio=38.6, largest="s",
              smallest="a", reference=24.16, method="UMC", column="NMI", delta_points=0.1, split="train+dev",
              reference_split="test", requested=[20.0, 30.0], limit=9, status="stopped_early", target=24.16,
              probability=0.05, cause="nan", mean=24.07, std=0.13, low=23.98, high=24.16, labels=["a"],
              minority=2, recall=0.5, class_share=0.2, silhouette=0.01, gap=0.5, declared="MELD-DA",
              found="IEMOCAP-DA", groups=[[3, ["a", "b"]]], minority_share=0.05, lost_recall=0.1, stop_below=0.05,
              epochs=[10.0], metric="nmi", restarts=1, epoch_base=0,
              epochs_done=10)
REC_CODES = ["rec.disable_fork_early_stop", "rec.log_metric_every_epoch", "rec.evaluate_on_test",
             "rec.watch_metric_not_loss", "rec.lower_lr", "rec.use_best_checkpoint", "rec.fix_label_file",
             "rec.inspect_crash", "rec.check_stalled", "rec.stop_training", "rec.keep_going"]
CHECK_CODES = ["check.no_crash", "check.loss_finite", "check.loss_informative", "check.metric_logged_often",
               "check.metric_improving", "check.reached_plan", "check.dataset_clean",
               "check.same_split_as_reference", "check.test_result"]


class Context:
    metric = None
    x_unit = "epoch"


class StepContext(Context):
    x_unit = "step"


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("output", ["md", "html"])
def test_every_code_has_words(lang: str, output: str) -> None:
    env = environment(lang, output)
    messages = env.get_template("partials/messages.j2").make_module()
    params = frozen_mapping(PARAMS | {"delta": 0.14})
    for code in FINDING_CODES:
        text = str(messages.finding(Finding(code, Severity.INFO, params), Context()))
        assert text.strip() and code not in text, code
        assert code not in str(messages.finding(Finding(code, Severity.INFO, params), StepContext())), code
        assert code not in str(messages.finding_title(code)), code  # as listed in "Since the last report"
    for code in REC_CODES:
        recommendation = Recommendation(code, frozen_mapping(PARAMS | {"current": 20, "suggested": 10}))
        assert code not in str(messages.rec_title(recommendation)), code
    for code in CHECK_CODES:
        assert code not in str(messages.check(CheckItem(code, CheckStatus.PASS))), code


def test_analysis_only_emits_codes_the_templates_know() -> None:
    from pathlib import Path

    source = "\n".join(p.read_text() for p in (Path(__file__).parent.parent / "reporter" / "report" / "analysis").glob("*.py"))
    emitted = set(re.findall(r'"((?:run|metric|monitor|stability|loss|fact|dataset|reference|projection|umc|seeds|clusters|features)\.[a-z_]+)"',
                             source))
    assert emitted <= set(FINDING_CODES), emitted - set(FINDING_CODES)
    assert set(re.findall(r'"(rec\.[a-z_]+)"', source)) <= set(REC_CODES)
    assert set(re.findall(r'"(check\.[a-z_]+)"', source)) <= set(CHECK_CODES)
