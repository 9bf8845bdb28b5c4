"""The finding-code registry: each declared code has one template with words for every param choice, in both
languages and on both x units, and a rule cannot emit what the registry does not declare."""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

import pytest

from reporter.codes import EXAMPLES, FINDINGS, RECOMMENDATIONS, Code, Kind, finding, recommendation
from reporter.model import Finding, Recommendation, Severity, frozen_mapping
from reporter.report.present import stated_rules
from reporter.report.render.environment import BUILTIN_TEMPLATES, environment

SOURCE = Path(__file__).resolve().parent.parent / "reporter"
UNITS = ("epoch", "step")


class Context:
    """What a code's text reads from the report context."""

    def __init__(self, x_unit: str) -> None:
        self.x_unit = x_unit
        self.metric = None
        self.rules = stated_rules(None)


def examples(code: Code) -> list[dict[str, object]]:
    """One params dict per combination of choices and flags, plus one with the optional params None."""
    base = {name: EXAMPLES[p.kind] for name, p in code.params.items()}
    picks = [[(name, c) for c in (p.choices or (True, False))] for name, p in code.params.items()
             if p.choices or p.kind is Kind.FLAG]
    variants = [base | dict(combo) for combo in itertools.product(*picks)]
    return variants + [{name: None if code.params[name].optional else value for name, value in base.items()}]


def rendered(folder: str, code: Code, lang: str, output: str) -> dict[str, dict[str, str]]:
    """The code's title and texts for every example, per x unit."""
    template = environment(lang, output).get_template(f"{folder}/{code.name}.j2").make_module()
    words: dict[str, dict[str, str]] = {}
    for unit in UNITS:
        c = Context(unit)
        title = str(template.title()) if folder == "findings" else str(template.title(frozen_mapping({}), c))
        words[unit] = {"title": title} | {
            repr(params): str(template.text(frozen_mapping(params), c)) for params in examples(code)}
    return words


@pytest.mark.parametrize("folder,registry", [("findings", FINDINGS), ("recommendations", RECOMMENDATIONS)])
def test_every_code_has_exactly_one_template(folder: str, registry) -> None:
    files = {p.name.removesuffix(".j2") for p in (BUILTIN_TEMPLATES / folder).glob("*.j2")}
    assert files == set(registry), "a template without a declared code, or a code without a template"


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("output", ["md", "html"])
@pytest.mark.parametrize("folder,registry", [("findings", FINDINGS), ("recommendations", RECOMMENDATIONS)])
def test_every_declared_code_renders_in_words(folder: str, registry, lang: str, output: str) -> None:
    for code in registry.values():
        words = rendered(folder, code, lang, output)
        for unit in UNITS:
            for case, text in words[unit].items():
                assert text.strip(), (code.name, case, unit)
                assert code.name not in text and "%(" not in text, (code.name, case, unit, text)
        assert code.unit_aware == (words["epoch"] != words["step"]), f"{code.name}: unit_aware is declared wrongly"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_reports_render_codes_through_their_templates(lang: str) -> None:
    """messages.j2 dispatches every code to its template: the sentence, the title in change lists and the
    recommendation's title and body (as the digest calls them, with the unit alone)."""
    messages = environment(lang, "md").get_template("partials/messages.j2").make_module()
    for code in FINDINGS.values():
        params = frozen_mapping(examples(code)[0])
        assert str(messages.finding(Finding(code.name, min(code.severities), params), Context("step"))).strip()
        assert str(messages.finding_title(code.name)).strip()
    for code in RECOMMENDATIONS.values():
        r = Recommendation(code.name, frozen_mapping(examples(code)[0]))
        assert str(messages.rec_title(r, "step")).strip() and str(messages.rec_body(r, "step")).strip()


def code_literals() -> dict[str, set[str]]:
    """Every string in reporter/ that names a code: the first argument of finding(), recommendation() and
    Recommendation(), a string compared with a code (`"run.crashed" in found`, `f.code == "reference.compare"`),
    a set of codes, a code looked up in `found` and the strings of a *_CODES constant."""
    found: dict[str, set[str]] = {"finding": set(), "recommendation": set(), "compared": set()}
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in ("finding", "recommendation", "Recommendation"):
                    found["finding" if name == "finding" else "recommendation"].add(str(node.args[0].value))
            elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.In)) for op in node.ops):
                found["compared"] |= {n.value for n in [node.left, *node.comparators] if _is_code(n)}
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", "").endswith("_CODES") for t in node.targets):
                found["compared"] |= {n.value for n in ast.walk(node.value) if _is_code(n)}
            elif isinstance(node, ast.Set):  # {"run.finished", "run.past_plan"} & found.keys()
                found["compared"] |= {n.value for n in node.elts if _is_code(n)}
            elif isinstance(node, ast.Subscript) and getattr(node.value, "id", "") == "found":
                found["compared"] |= {node.slice.value} if _is_code(node.slice) else set()
    return found


FAMILIES = {name.split(".")[0] for name in [*FINDINGS, *RECOMMENDATIONS]}
NOT_CODES = {"run.toml"}  # a run folder's file, shaped like a code of the run family


def _is_code(node: ast.AST) -> bool:
    """A string shaped like a code of a declared family: "run.crashed", or a misspelt "run.crashd"."""
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and \
        re.fullmatch(r"[a-z]+\.[a-z_]+", node.value) is not None and node.value.split(".")[0] in FAMILIES \
        and node.value not in NOT_CODES


def test_every_code_named_in_reporter_is_declared() -> None:
    literals = code_literals()
    assert literals["finding"] and literals["recommendation"], "the scan found no emitter: has the API moved?"
    assert literals["finding"] <= FINDINGS.keys(), literals["finding"] - FINDINGS.keys()
    assert literals["recommendation"] <= RECOMMENDATIONS.keys(), literals["recommendation"] - RECOMMENDATIONS.keys()
    assert literals["compared"] <= FINDINGS.keys() | RECOMMENDATIONS.keys(), \
        literals["compared"] - FINDINGS.keys() - RECOMMENDATIONS.keys()


def test_a_rule_cannot_emit_an_undeclared_param() -> None:
    with pytest.raises(ValueError, match="fact.constant"):
        finding("fact.constant", Severity.INFO, key="k", value=1.0, count=3, typo=1)
    with pytest.raises(ValueError, match="severity"):
        finding("fact.constant", Severity.ERROR, key="k", value=1.0, count=3)
    with pytest.raises(ValueError, match="missing params \\['reference_split'\\]"):
        recommendation("rec.evaluate_on_test", split="val")


def test_an_undeclared_code_is_refused() -> None:
    with pytest.raises(KeyError, match="run.exploded"):
        finding("run.exploded", Severity.ERROR)
    with pytest.raises(KeyError, match="rec.pray"):
        recommendation("rec.pray")


def test_the_flattening_window_is_stated_in_evaluation_intervals(tmp_path: Path) -> None:
    """The forecast flattens when it gains under FLAT_GAIN of the range over FLAT_WINDOW evaluation intervals;
    on a run evaluated every 2 epochs that is 10 epochs, not the "per 5 epochs" the report used to state."""
    from reporter.cli import main
    from reporter.report.analysis.projection import FLAT_GAIN, FLAT_WINDOW

    run = tmp_path / "every-2-epochs"
    run.mkdir()
    (run / "history.csv").write_text("epoch,val_acc\n" + "".join(
        f"{e},{0.9 - 0.5 * 0.78 ** e:.4f}\n" for e in range(0, 40, 2)))
    (run / "run.toml").write_text("planned_epochs = 100\n")
    assert main(["report", str(run), "--out", str(tmp_path / "out"), "--format", "md", "--lang", "en", "-q"]) == 0
    text = (tmp_path / "out" / "every-2-epochs" / "report.en.md").read_text()
    assert f"gains under {FLAT_GAIN:.0%} of the observed range per {FLAT_WINDOW} evaluation intervals" in text
    assert "per 5 epochs" not in text
