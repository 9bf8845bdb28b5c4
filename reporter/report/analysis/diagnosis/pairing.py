"""Train/validation pairing: which training series each validation series is the twin of, by name.

Overfitting and the generalisation gap are statements about two curves at once, so the diagnosis needs
to know that `val_loss` is measured on the same objective as `loss`, `val/box_loss` as `train/box_loss`,
`Loss/val` as `Loss/train`, `validation/epoch_loss` as `train/epoch_loss` (Keras' TensorBoard callback),
`epoch/val_loss` as `epoch/loss` (W&B's Keras logger), `eval/loss` as `train/loss` (Hugging Face through
TensorBoard or W&B). Ultralytics splits its loss in components (box, cls, dfl, seg): their sums are
paired too, because the total is what the optimiser sees. The report's appendix lists the pairs used.
"""

from __future__ import annotations

import re
from typing import Iterable

from reporter.model import TrainValPair as Pair
from reporter.report.analysis.metrics import is_loss

_VAL_PATTERNS = (  # (how a validation key is written, how its training twin may be written), in order of preference
    (re.compile(r"^val_(?P<stem>.+)$"), ("{stem}", "train_{stem}", "train_{stem}_epoch", "{stem}_epoch")),
    (re.compile(r"^eval_(?P<stem>.+)$"), ("{stem}", "train_{stem}", "train/{stem}")),
    (re.compile(r"^val/(?P<stem>.+)$"), ("train/{stem}", "train_{stem}", "{stem}")),
    (re.compile(r"^valid_(?P<stem>.+)$"), ("train_{stem}", "{stem}")),
    (re.compile(r"^(?P<stem>.+)/val$"), ("{stem}/train",)),
    (re.compile(r"^(?P<stem>.+)_val$"), ("{stem}_train", "{stem}")),
    (re.compile(r"^validation/(?P<stem>.+)$"), ("train/{stem}",)),
    (re.compile(r"^validation_(?P<stem>.+)$"), ("train_{stem}", "{stem}")),
    (re.compile(r"^eval/(?P<stem>.+)$"), ("train/{stem}",)),
    (re.compile(r"^(?P<prefix>[^/]+)/val_(?P<stem>.+)$"), ("{prefix}/{stem}", "{prefix}/train_{stem}")),
)
COMPONENT_PREFIX = ("train/", "val/")
"""Ultralytics writes each loss component as train/<name>_loss and val/<name>_loss."""


def twin(val_key: str, keys: frozenset[str]) -> str | None:
    """The training key paired with a validation key, or None."""
    for pattern, candidates in _VAL_PATTERNS:
        match = pattern.match(val_key)
        if match is None:
            continue
        found = next((name for c in candidates if (name := c.format(**match.groupdict())) in keys), None)
        if found is not None and found != val_key:
            return found
    return None


def _components(pairs: list[Pair]) -> Pair | None:
    """The summed loss of an Ultralytics-style run: every train/*_loss paired with its val/*_loss."""
    parts = [p for p in pairs if len(p.train) == 1 and losses(p) and p.train[0].startswith(COMPONENT_PREFIX[0])
             and p.val[0].startswith(COMPONENT_PREFIX[1])]
    if len(parts) < 2:
        return None
    return Pair(tuple(p.train[0] for p in parts), tuple(p.val[0] for p in parts))


def pairs(keys: Iterable[str]) -> tuple[Pair, ...]:
    """Every train/validation pair among the keys, a summed component loss first when there is one."""
    known = frozenset(keys)
    found = [Pair((train,), (val,)) for val in sorted(known) if (train := twin(val, known)) is not None]
    total = _components(found)
    return ((total,) if total else ()) + tuple(found)


def loss_pair(found: tuple[Pair, ...]) -> Pair | None:
    """The pair the fit diagnosis reads: the summed loss, else the first pair of losses."""
    return next((p for p in found if losses(p)), None)


def losses(pair: Pair) -> bool:
    return all(is_loss(key) for key in pair.train + pair.val)
