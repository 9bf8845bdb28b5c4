"""Learning-curve families, fitted exactly and fast.

The families of Domhan, Springenberg & Hutter (IJCAI 2015) written as `z = a + b * g(u; theta)`:
once the linear parameters a, b are free, several of them share a shape, so each shape appears once:

| shape          | g(u; theta)                 | Domhan families it covers            |
|----------------|-----------------------------|--------------------------------------|
| pow3           | -u^-alpha                   | pow3                                 |
| pow4           | -(u + c)^-alpha             | pow4                                 |
| janoschek      | -exp(-kappa * u^delta)      | Janoschek, Weibull, exp4             |
| mmf            | 1 / (1 + (u / kappa)^-delta)| MMF, Hill3, log-power                |
| ilog2          | -1 / log(u + 1)             | ilog2                                |
| log_linear     | log(u)                      | log-log linear (first order)         |

plus `vapor` (a + b/u + c log u, vapor pressure in linear form), `peaked` (a quadratic in log u, for
curves that rise then fall, common when clustering runs peak early), `recent_trend` (the slope of the last
third, damped over half the observed length: a validation loss that has started to rise as the model
overfits keeps rising for a while, and no saturating family bends that way) and three flat members (the last
value, the mean of the last 3 and of the last third): real curves plateau or decline after a peak far
more often than the rising families assume, and on the development curves the flat members gave the
largest single gain. For each shape the nonlinear parameters run over a small grid and a, b are solved in closed
form for every grid point at once: the same fit quality as generic least squares, far faster.

`u` is the evaluation index (1, 2, ...), `z` the metric oriented so that improving is up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Basis = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (u[n], theta[k, p]) -> g[k, n]


@dataclass(frozen=True)
class Family:
    name: str
    basis: Basis
    grid: np.ndarray  # [k, p] nonlinear parameters


def _grid(*axes: np.ndarray) -> np.ndarray:
    return np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(axes), -1).T


_ALPHA = np.geomspace(0.05, 3.0, 14)
_KAPPA = np.geomspace(0.01, 2.0, 10)
_DELTA = np.array([0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0])
_SCALE = np.geomspace(0.5, 60.0, 10)

FAMILIES: tuple[Family, ...] = (
    Family("pow3", lambda u, t: -(u[None, :] ** -t[:, :1]), _ALPHA[:, None]),
    Family("pow4", lambda u, t: -((u[None, :] + t[:, 1:2]) ** -t[:, :1]),
           _grid(_ALPHA[::2], np.array([0.5, 2.0, 5.0, 15.0]))),
    Family("janoschek", lambda u, t: -np.exp(-t[:, :1] * u[None, :] ** t[:, 1:2]), _grid(_KAPPA, _DELTA)),
    Family("mmf", lambda u, t: 1.0 / (1.0 + (u[None, :] / t[:, :1]) ** -t[:, 1:2]), _grid(_SCALE, _DELTA)),
    Family("ilog2", lambda u, t: -1.0 / np.log(u[None, :] + 1.0), np.zeros((1, 1))),
    Family("log_linear", lambda u, t: np.log(u)[None, :], np.zeros((1, 1))),
)


@dataclass(frozen=True)
class Fit:
    """One fitted member: predict(u) gives z."""

    name: str
    predict: Callable[[np.ndarray], np.ndarray]


def fit_family(family: Family, u: np.ndarray, z: np.ndarray) -> Fit:
    """Closed-form a, b for every grid point; the grid point with the least squared error wins."""
    g = family.basis(u, family.grid)  # [k, n]
    g_mean = g.mean(axis=1, keepdims=True)
    z_mean = z.mean()
    dg = g - g_mean
    var = (dg * dg).sum(axis=1)
    cov = dg @ (z - z_mean)
    b = np.divide(cov, var, out=np.zeros_like(cov), where=var > 1e-12)
    a = z_mean - b * g_mean[:, 0]
    sse = ((a[:, None] + b[:, None] * g - z[None, :]) ** 2).sum(axis=1)
    sse = np.where(np.isfinite(sse), sse, np.inf)
    best = int(np.argmin(sse))
    theta, a_best, b_best = family.grid[best:best + 1], float(a[best]), float(b[best])
    return Fit(family.name, lambda t: a_best + b_best * family.basis(np.asarray(t, dtype=float), theta)[0])


def _polynomial_fit(name: str, columns: Callable[[np.ndarray], np.ndarray], u: np.ndarray, z: np.ndarray) -> Fit:
    coef, *_ = np.linalg.lstsq(columns(u), z, rcond=None)
    return Fit(name, lambda t: columns(np.asarray(t, dtype=float)) @ coef)


def constant(level: float) -> Callable[[np.ndarray], np.ndarray]:
    """A flat forecast at `level`, for the ensemble's members that say 'no further change'."""
    return lambda t: np.full(np.shape(t), level, dtype=float)


def recent_trend(u: np.ndarray, z: np.ndarray) -> Fit:
    """The last third's least-squares slope from the last value, fading out with a time constant of half the
    observed length, so it bends towards a plateau instead of running off."""
    tail = max(3, len(z) // 3)
    slope = float(np.polyfit(u[-tail:], z[-tail:], 1)[0])
    last, u_last, tau = float(z[-1]), float(u[-1]), max(1.0, len(u) / 2)
    return Fit("recent_trend", lambda t: last + slope * tau * (1 - np.exp(-(np.asarray(t, dtype=float) - u_last) / tau)))


def net_trend(u: np.ndarray, z: np.ndarray, share: float) -> Fit:
    """The last value plus `share` of the net change since the first, reached over half the observed length."""
    last, u_last, tau = float(z[-1]), float(u[-1]), max(1.0, len(u) / 2)
    gain = share * (last - float(z[0]))
    return Fit("net_trend", lambda t: last + gain * (1 - np.exp(-(np.asarray(t, dtype=float) - u_last) / tau)))


def fit_members(u: np.ndarray, z: np.ndarray) -> list[Fit]:
    """Every family fitted to (u, z); needs at least 4 points."""
    fits = [fit_family(family, u, z) for family in FAMILIES]
    fits.append(_polynomial_fit("vapor", lambda t: np.column_stack([np.ones_like(t), 1.0 / t, np.log(t)]), u, z))
    fits.append(_polynomial_fit("peaked", lambda t: np.column_stack([np.ones_like(t), np.log(t), np.log(t) ** 2]),
                                u, z))
    fits.append(recent_trend(u, z))
    for name, count in (("flat_last", 1), ("flat_3", 3), ("flat_third", max(1, len(z) // 3))):
        fits.append(Fit(name, constant(float(np.mean(z[-count:])))))
    return fits
