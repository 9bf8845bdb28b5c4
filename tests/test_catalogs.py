"""Every message exists in zh and en with the same placeholders, and every check item has words."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from reporter.model import CheckItem, CheckStatus, frozen_mapping
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
        allowed = [set(PLACEHOLDER.findall(i)) for i in ids]  # a plural's singular may omit %(num)s
        for form in forms:  # a translation may repeat a value where its grammar needs it ("前 3 个…后 3 个")
            assert set(PLACEHOLDER.findall(form)) in allowed, message_id


def test_pot_matches_the_templates(tmp_path) -> None:
    """The committed catalog template is what the templates say today."""
    from babel.messages.extract import extract_from_dir

    found = {message for _, _, message, _, _ in extract_from_dir(
        str(BUILTIN_TEMPLATES), method_map=[("**.j2", "jinja2")], options_map={"**.j2": {"extensions": "jinja2.ext.i18n"}})}
    assert {m if isinstance(m, str) else m[:2] for m in found} == template_ids()  # plurals: (singular, plural)


CHECK_CODES = ["check.no_crash", "check.loss_finite", "check.loss_informative", "check.metric_logged_often",
               "check.metric_improving", "check.reached_plan", "check.stopped_by_own_rule", "check.dataset_clean",
               "check.same_split_as_reference", "check.test_result"]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("output", ["md", "html"])
def test_every_check_item_has_words(lang: str, output: str) -> None:
    """Finding and recommendation codes: tests/test_codes.py renders each from the registry."""
    env = environment(lang, output)
    messages = env.get_template("partials/messages.j2").make_module()
    for code in CHECK_CODES:
        assert code not in str(messages.check(CheckItem(code, CheckStatus.PASS, frozen_mapping({"epoch": 9.0})))), code


def test_analysis_only_emits_check_items_the_templates_know() -> None:
    from pathlib import Path

    source = "\n".join(p.read_text() for p in (Path(__file__).parent.parent / "reporter" / "report" / "analysis").glob("*.py"))
    assert set(re.findall(r'"(check\.[a-z_]+)"', source)) <= set(CHECK_CODES)
