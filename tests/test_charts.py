"""What the charts draw: long lines decimated without losing their extremes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from reporter.report.render.charts import decimated

values = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=5000)


@settings(max_examples=100, deadline=None)
@given(values, st.integers(2, 300))
def test_decimated_keeps_order_ends_and_extremes(ys: list[float], buckets: int) -> None:
    xs = [float(i) for i in range(len(ys))]
    dx, dy = decimated(xs, ys, buckets)
    assert dx == sorted(dx) and set(dx) <= set(xs) and all(ys[int(x)] == y for x, y in zip(dx, dy))
    assert dx[0] == xs[0] and dx[-1] == xs[-1]
    assert max(dy) == max(ys) and min(dy) == min(ys)
    assert len(dx) <= max(len(xs) if len(xs) <= 2 * buckets else 0, 2 * buckets + 2)


def test_a_spike_among_a_million_points_is_still_drawn() -> None:
    ys = np.zeros(1_000_000)
    ys[765_432] = 5.0
    dx, dy = decimated(np.arange(1_000_000.0), ys)
    assert 765_432.0 in dx and len(dx) <= 1202
