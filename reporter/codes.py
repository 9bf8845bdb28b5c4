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

from reporter.model import Severity


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


EXAMPLES: Mapping[Kind, object] = MappingProxyType({
    Kind.EPOCH: 18, Kind.COUNT: 3, Kind.NUMBER: 0.25, Kind.FRACTION: 0.43, Kind.HOURS: 1.5, Kind.TEXT: "val_loss",
    Kind.FLAG: True, Kind.LIST: [3, 7], Kind.VALUE: 0.001,
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
    # diagnosis: fit and stopping
    _code("eval.constant", S.ERROR, unit_aware=True, key=P(K.TEXT), keys=P(K.LIST), value=P(K.NUMBER), count=P(K.COUNT)),
    _code("fit.overfitting", S.WARN, unit_aware=True, best_epoch=P(K.EPOCH), rise=P(K.FRACTION),
          train_change=P(K.FRACTION), key=P(K.TEXT), train_key=P(K.TEXT), p_value=P(K.NUMBER)),
    _code("fit.generalization_gap", S.WARN, unit_aware=True, since_epoch=P(K.EPOCH), val_change=P(K.FRACTION),
          train_change=P(K.FRACTION), key=P(K.TEXT), train_key=P(K.TEXT), evaluations=P(K.COUNT)),
    _code("fit.still_improving", S.OK, S.WARN, unit_aware=True, key=P(K.TEXT), train_key=P(K.TEXT),
          val_change=P(K.FRACTION), train_change=P(K.FRACTION), window=P(K.COUNT)),
    _code("fit.underfitting", S.WARN, unit_aware=True, key=P(K.TEXT), train_key=P(K.TEXT),
          val_change=P(K.FRACTION), train_change=P(K.FRACTION), window=P(K.COUNT)),
    _code("fit.at_best", S.OK, unit_aware=True, key=P(K.TEXT), train_key=P(K.TEXT), best_epoch=P(K.EPOCH),
          rise=P(K.FRACTION)),
    _code("stop.counterfactual", S.INFO, S.WARN, unit_aware=True, monitor=P(K.TEXT), mode=P(K.TEXT, choices=("min", "max")),
          patience=P(K.COUNT), min_delta=P(K.NUMBER), stop_epoch=P(K.EPOCH, optional=True), best_epoch=P(K.EPOCH),
          epochs_after_best=P(K.EPOCH), hours_after_best=P(K.HOURS, optional=True),
          premature=P(K.FLAG),
          framework=P(K.TEXT, choices=("keras", "lightning", "hf", "ultralytics")),
          basis=P(K.TEXT, choices=("config", "default"))),
)})

RECOMMENDATIONS: Mapping[str, Code] = MappingProxyType({c.name: c for c in (
    # diagnosis: fit and stopping
    _code("rec.restore_best_checkpoint", unit_aware=True, epoch=P(K.EPOCH), key=P(K.TEXT),
          metric=P(K.TEXT, optional=True), metric_epoch=P(K.EPOCH, optional=True)),
    _code("rec.regularise", key=P(K.TEXT), ultralytics=P(K.FLAG)),
    _code("rec.early_stopping", unit_aware=True, monitor=P(K.TEXT), mode=P(K.TEXT, choices=("min", "max")),
          patience=P(K.COUNT), min_delta=P(K.NUMBER), stop_epoch=P(K.EPOCH),
          framework=P(K.TEXT, choices=("keras", "lightning", "hf", "ultralytics"))),
    _code("rec.more_epochs", unit_aware=True, last_epoch=P(K.EPOCH), val_change=P(K.FRACTION), window=P(K.COUNT)),
    _code("rec.check_validation_split", key=P(K.TEXT), value=P(K.NUMBER)),
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
