"""Every finding and recommendation code, declared once: its severities, its params and their kinds.

Analysis emits only declared codes (`check` refuses any other, or a param the code does not declare), every
code has one template, `templates/findings/<code>.j2` or `templates/recommendations/<code>.j2`, with a
`title()` and a `text(p, c)` macro, and the catalog test renders each code from the example values of its
params, in both languages and on both x units. summary.json carries the params under the same names, so the
names here are a contract with the tools that read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Mapping

from reporter.model import Finding, Recommendation, Severity, frozen_mapping


class Kind(StrEnum):
    """What a param holds; each kind has an example value the catalog test renders."""

    EPOCH = "epoch"  # an x value: an epoch, or a step on step-indexed runs
    COUNT = "count"
    NUMBER = "number"
    FRACTION = "fraction"  # 0.43 is shown as 43%
    HOURS = "hours"
    TEXT = "text"  # a key or a name from the run, shown as written
    FLAG = "flag"
    LIST = "list"
    VALUE = "value"  # a hyperparameter's value as the config has it (number, text or flag)
    TIME = "time"  # a moment, as ISO 8601 text with its UTC offset


EXAMPLES: Mapping[Kind, object] = MappingProxyType({
    Kind.EPOCH: 18, Kind.COUNT: 3, Kind.NUMBER: 0.25, Kind.FRACTION: 0.43, Kind.HOURS: 1.5, Kind.TEXT: "val_loss",
    Kind.FLAG: True, Kind.LIST: [3, 7], Kind.VALUE: 0.001, Kind.TIME: "2026-12-10T14:00:00+00:00",
})


@dataclass(frozen=True)
class Param:
    kind: Kind
    optional: bool = False  # may be None; the key is always there, so summary.json readers see every name
    choices: tuple[str, ...] = ()  # a text param whose value picks the sentence; the test renders each


@dataclass(frozen=True)
class Code:
    name: str
    severities: frozenset[Severity]
    params: Mapping[str, Param] = field(default_factory=dict)
    unit_aware: bool = False  # its words name the x unit (epoch or step)


def _code(name: str, *severities: Severity, unit_aware: bool = False, **params: Param) -> Code:
    return Code(name, frozenset(severities), MappingProxyType(params), unit_aware)


P = Param
K = Kind
S = Severity

FINDINGS: Mapping[str, Code] = MappingProxyType({c.name: c for c in (
    _code("fact.constant", S.INFO, unit_aware=True, key=P(K.TEXT), value=P(K.NUMBER), count=P(K.COUNT),
          formula=P(K.TEXT, optional=True, choices=("umc_min_samples",)), n=P(K.COUNT, optional=True),
          k=P(K.COUNT, optional=True), expected=P(K.COUNT, optional=True)),
    # diagnosis: instability, learning rate, time
    _code("loss.spikes", S.WARN, unit_aware=True, key=P(K.TEXT), epochs=P(K.LIST), count=P(K.COUNT),
          window=P(K.COUNT), rtol=P(K.NUMBER)),
    _code("loss.diverging", S.WARN, unit_aware=True, key=P(K.TEXT), min_epoch=P(K.EPOCH), minimum=P(K.NUMBER),
          last=P(K.NUMBER), window=P(K.COUNT)),
    _code("metric.unstable", S.WARN, unit_aware=True, key=P(K.TEXT), change=P(K.FRACTION), since=P(K.EPOCH),
          threshold=P(K.FRACTION)),
    _code("lr.warmup", S.INFO, unit_aware=True, key=P(K.TEXT), start=P(K.NUMBER, optional=True),
          peak=P(K.NUMBER, optional=True), until=P(K.EPOCH)),
    _code("lr.drop_helped", S.OK, unit_aware=True, key=P(K.TEXT), epoch=P(K.EPOCH), before=P(K.NUMBER),
          after=P(K.NUMBER), metric=P(K.TEXT), window=P(K.COUNT), min_delta=P(K.NUMBER)),
    _code("lr.drop_no_effect", S.INFO, unit_aware=True, key=P(K.TEXT), epoch=P(K.EPOCH), before=P(K.NUMBER),
          after=P(K.NUMBER), metric=P(K.TEXT), window=P(K.COUNT), min_delta=P(K.NUMBER)),
    _code("lr.at_floor", S.WARN, S.INFO, unit_aware=True, key=P(K.TEXT), value=P(K.NUMBER), peak=P(K.NUMBER),
          since=P(K.EPOCH), best_epoch=P(K.EPOCH), evaluations_since_best=P(K.COUNT), floor=P(K.FRACTION)),
    _code("time.spent", S.INFO, hours=P(K.HOURS), epochs=P(K.COUNT), hours_per_epoch=P(K.HOURS)),
    _code("time.eta", S.INFO, hours_left=P(K.HOURS), low=P(K.HOURS), high=P(K.HOURS), hours_per_epoch=P(K.HOURS),
          epochs_left=P(K.EPOCH), finish_at=P(K.TIME, optional=True), spread=P(K.HOURS)),
    _code("time.slowdown", S.WARN, before=P(K.HOURS), after=P(K.HOURS), ratio=P(K.NUMBER), since=P(K.EPOCH),
          factor=P(K.NUMBER)),
)})

RECOMMENDATIONS: Mapping[str, Code] = MappingProxyType({c.name: c for c in (
    # diagnosis: instability, learning rate, time
    _code("rec.stabilise_training", key=P(K.TEXT, optional=True), current=P(K.VALUE, optional=True),
          suggested=P(K.VALUE, optional=True)),
    _code("rec.review_lr_schedule", key=P(K.TEXT, optional=True), current=P(K.VALUE, optional=True),
          value=P(K.NUMBER), since=P(K.EPOCH)),
    _code("rec.check_data_loading", key=P(K.TEXT, optional=True), current=P(K.VALUE, optional=True),
          ratio=P(K.NUMBER), since=P(K.EPOCH)),
)})


def check(registry: Mapping[str, Code], code: str, severity: Severity | None, params: Mapping[str, object]) -> None:
    """Fail loudly in development when a rule emits what the registry does not declare: the words, the
    catalog test and summary.json readers all rely on the declaration."""
    declared = registry.get(code)
    if declared is None:
        raise KeyError(f"{code} is not declared in reporter/codes.py")
    if severity is not None and severity not in declared.severities:
        raise ValueError(f"{code}: severity {severity.value} is not declared")
    unknown = params.keys() - declared.params.keys()
    missing = declared.params.keys() - params.keys()
    if unknown or missing:
        raise ValueError(f"{code}: undeclared params {sorted(unknown)}, missing params {sorted(missing)}")


def emit(code: str, severity: Severity, **params: object) -> Finding:
    """A finding of a declared code, checked against its declaration (rules outside findings.py use this, so they
    need not import the module that runs them)."""
    check(FINDINGS, code, severity, params)
    return Finding(code, severity, frozen_mapping(params))


def recommend(code: str, evidence: tuple[str, ...], **params: object) -> Recommendation:
    """A recommendation of a declared code with the finding codes behind it (never none)."""
    check(RECOMMENDATIONS, code, None, params)
    if not evidence:
        raise ValueError(f"{code}: a recommendation needs the findings that support it")
    return Recommendation(code, frozen_mapping(params), evidence)
