"""fit.generalization_gap reads "validation stopped improving while training pulls away" (brief S6-D item 4):
not a single low evaluation on a validation loss that is still coming down (other-3dresnet-video), and not a
training loss still above the validation loss (yolo-cls-more99)."""

from __future__ import annotations

import numpy as np

from reporter.config import Thresholds
from reporter.report.analysis.diagnosis import fit

LIMITS = Thresholds()


def _curves(train: np.ndarray, val: np.ndarray) -> fit.Curves:
    return fit.Curves(np.arange(len(val), dtype=float), train, val)


def test_one_low_evaluation_on_a_validation_loss_still_falling_is_no_gap() -> None:
    """The curve falls 0.5% an evaluation to the end; one evaluation 15 before the end dips below the rest."""
    n = 60
    val = 2.0 * 0.995 ** np.arange(n) + 0.003 * np.where(np.arange(n) % 2, 1.0, -1.0)
    val[n - 15] = val[-1] - 0.01
    train = 1.8 * 0.99 ** np.arange(n)
    c = _curves(train, val)
    assert fit.generalization_gap(c, LIMITS) is None
    assert fit.still_improving(c, LIMITS) is not None


def test_a_training_loss_still_above_the_validation_loss_has_not_pulled_away() -> None:
    """A flat validation loss and a training loss falling towards it from above (augmented training): no gap;
    the same curves with the training loss below the validation loss are one."""
    rng = np.random.default_rng(5)
    n = 40
    val = np.concatenate([[1.0, 0.7, 0.5, 0.45], 0.42 + 0.004 * rng.standard_normal(n - 4)])
    falling = 0.4 * 0.98 ** np.arange(n)
    assert fit.generalization_gap(_curves(0.3 + falling, val), LIMITS) is None
    assert fit.generalization_gap(_curves(falling, val), LIMITS) is not None
