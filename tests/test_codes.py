"""The finding-code registry: each declared code has one template with words for every param choice, in both
languages and on both x units, and a rule cannot emit what the registry does not declare."""

from __future__ import annotations

import itertools

import pytest

from reporter.codes import EXAMPLES, FINDINGS, RECOMMENDATIONS, Code
from reporter.model import Severity, frozen_mapping
from reporter.report.analysis.findings import finding
from reporter.report.render.environment import BUILTIN_TEMPLATES, environment


class Context:
    def __init__(self, x_unit: str) -> None:
        self.x_unit = x_unit
        self.metric = None


def examples(code: Code) -> list[dict[str, object]]:
    """One params dict per combination of choices, plus one with the optional params None."""
    base = {name: EXAMPLES[p.kind] for name, p in code.params.items()}
    chosen = [[(name, c) for c in p.choices] for name, p in code.params.items() if p.choices]
    variants = [base | dict(combo) for combo in itertools.product(*chosen)] if chosen else [base]
    return variants + [{name: None if code.params[name].optional else value for name, value in base.items()}]


@pytest.mark.parametrize("folder,registry", [("findings", FINDINGS), ("recommendations", RECOMMENDATIONS)])
def test_every_code_has_exactly_one_template(folder: str, registry) -> None:
    files = {p.name.removesuffix(".j2") for p in (BUILTIN_TEMPLATES / folder).glob("*.j2")}
    assert files == set(registry), "a template without a declared code, or a code without a template"


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("output", ["md", "html"])
def test_every_declared_finding_renders_in_words(lang: str, output: str) -> None:
    env = environment(lang, output)
    for code in FINDINGS.values():
        template = env.get_template(f"findings/{code.name}.j2").make_module()
        title = str(template.title())
        assert title.strip() and code.name not in title, code.name
        for params, unit in itertools.product(examples(code), ("epoch", "step")):
            text = str(template.text(frozen_mapping(params), Context(unit)))
            assert text.strip() and code.name not in text and "%(" not in text, (code.name, params, unit)


def test_a_rule_cannot_emit_an_undeclared_param() -> None:
    with pytest.raises(ValueError, match="fact.constant"):
        finding("fact.constant", Severity.INFO, key="k", value=1.0, count=3, typo=1)
    with pytest.raises(ValueError, match="severity"):
        finding("fact.constant", Severity.ERROR, key="k", value=1.0, count=3)
