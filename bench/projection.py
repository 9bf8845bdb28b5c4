"""Time per forecast of a 100-point curve: our ensemble against one generic scipy curve_fit of pow3.

Run: make bench (or .venv/bin/python bench/projection.py). Prints medians and their ratio; the
machine is shared, so the ratio is the number to quote.
"""

from __future__ import annotations

import statistics
import time
import warnings

import numpy as np
from scipy.optimize import curve_fit

from reporter.report.analysis.projection import CurveEnsemble
from reporter.report.reference import projection_calibration


def curves(count: int = 50) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    x = np.arange(1.0, 101.0)
    return [(x, 0.9 - rng.uniform(0.3, 0.7) * x ** -rng.uniform(0.3, 1.2) + rng.normal(0, 0.01, 100))
            for _ in range(count)]


def time_ms(function, repeats: int = 3) -> float:
    best = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best.append((time.perf_counter() - start) * 1000)
    return min(best)


def main() -> None:
    calibration = projection_calibration()
    ours, generic = [], []
    for x, y in curves():
        def forecast() -> None:
            model = CurveEnsemble(calibration=calibration).fit(x, y)
            model.predict_interval([150.0])
            model.predict([150.0])

        def pow3() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                curve_fit(lambda t, c, a, alpha: c - a * t ** -alpha, x, y, p0=(1, 0.5, 0.5), maxfev=5000)

        ours.append(time_ms(forecast))
        generic.append(time_ms(pow3))
    a, b = statistics.median(ours), statistics.median(generic)
    print(f"ensemble forecast of a 100-point curve: median {a:.2f} ms (target <= 3 ms)")
    print(f"one scipy curve_fit of pow3 alone:      median {b:.2f} ms")
    print(f"ratio ensemble / single generic fit:    {a / b:.2f}")


if __name__ == "__main__":
    main()
