"""Fitness shaping: turn raw scores into the weights an update uses.

A strategy's update should depend on which candidates did better, not on the
raw numbers: a single huge (or NaN) score must not take over a step. Each
function here maps a 1-D array of scores (higher is better, NaN already
replaced by ``-inf``) to a float32 array of the same length, the
*utilities* that weight each candidate's noise in the update.

Introduced in 10_neuroevolution_at_scale.ipynb.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["centered_ranks", "normalized", "raw", "snes_utilities", "rank_utilities", "FITNESS_SHAPINGS",
           "shape_fitness"]


def _ranks(xp, values):
    """0-based ranks (lowest value -> 0), ties get their average rank (``xp``: numpy or keras.ops)."""
    ordered = xp.sort(values)
    first = xp.searchsorted(ordered, values, side="left")  # where the value's tie group starts in sorted order
    end = xp.searchsorted(ordered, values, side="right")  # one past where it ends
    twice = first + end - 1
    return (twice.astype(np.float64) if xp is np else xp.cast(twice, "float32")) / 2.0


def _worst_for_nan(xp, fitness):
    return xp.where(xp.isnan(fitness), -np.inf, fitness)


def _centered_ranks(xp, fitness):
    size = fitness.shape[0]
    if size < 2:
        return xp.zeros_like(fitness)
    return _ranks(xp, _worst_for_nan(xp, fitness)) / (size - 1) - 0.5


def centered_ranks(fitness):
    """Replaces scores by their ranks, spread evenly over [-0.5, 0.5].

    The best score becomes 0.5 and the worst -0.5, whatever the raw numbers
    were, so one huge (or NaN) score cannot dominate an update. Tied scores
    share their average rank; NaN counts as the worst score.

    Args:
        fitness: 1-D array-like of scores, higher is better.

    Returns:
        A float32 array of the same length with values in [-0.5, 0.5]
        (all zeros when there is a single score or all scores tie).

    Example:
        >>> centered_ranks([10.0, -3.0, 250.0])
        array([ 0. , -0.5,  0.5], dtype=float32)

    Introduced in 10_neuroevolution_at_scale.ipynb.
    """
    return _centered_ranks(np, _scores(fitness)).astype(np.float32)


def _scores(fitness):
    fitness = np.asarray(fitness, dtype=np.float64)
    if fitness.ndim != 1:
        raise ValueError(f"Expected a 1-D array of scores, received shape {fitness.shape}.")
    return fitness


def _finite(xp, fitness):
    """Replaces -inf (and NaN) by the worst finite score and +inf by the best (all zeros if none is finite)."""
    fitness = _worst_for_nan(xp, fitness)
    finite = xp.isfinite(fitness)
    low = xp.min(xp.where(finite, fitness, np.inf))
    high = xp.max(xp.where(finite, fitness, -np.inf))
    clipped = xp.where(fitness == np.inf, high, xp.where(finite, fitness, low))
    return xp.where(xp.any(finite), clipped, xp.zeros_like(fitness))


def _normalized(xp, fitness):
    fitness = _finite(xp, fitness)
    spread = xp.std(fitness)
    return xp.where(spread > 0, (fitness - xp.mean(fitness)) / xp.where(spread > 0, spread, 1.0), 0.0)


def normalized(fitness):
    """Z-scores: ``(fitness - mean) / std`` (all zeros when every score ties); infinities clipped first."""
    return _normalized(np, _scores(fitness)).astype(np.float32)


def raw(fitness):
    """The scores themselves (infinities clipped to the finite range): the update then follows the true gradient."""
    return _finite(np, _scores(fitness)).astype(np.float32)


def snes_utilities(population_size):
    """The rank-based utility weights of natural evolution strategies.

    The k-th best of n samples gets ``max(0, log(n/2 + 1) - log(k))``,
    normalized to sum to 1, minus ``1/n``: the better half pulls, the rest
    push a little, and the weights sum to zero.

    Args:
        population_size: The number of samples n.

    Returns:
        A float32 array of length n, best sample's weight first.

    Introduced in 10_neuroevolution_at_scale.ipynb.
    """
    ranks = np.arange(1, population_size + 1)
    utilities = np.maximum(0.0, math.log(population_size / 2 + 1) - np.log(ranks))
    return (utilities / utilities.sum() - 1.0 / population_size).astype(np.float32)


def rank_utilities(fitness):
    """:func:`snes_utilities` handed out by rank: the best candidate gets the first weight (ties by position)."""
    fitness = np.asarray(fitness, dtype=np.float64)
    order = np.argsort(-np.where(np.isnan(fitness), -np.inf, fitness), kind="stable")  # best first
    utilities = np.zeros(fitness.size, dtype=np.float32)
    utilities[order] = snes_utilities(fitness.size)
    return utilities


#: The shapings that also run inside a compiled generation, written once for ``xp`` = numpy or keras.ops.
SHAPINGS_FOR = {"centered_ranks": _centered_ranks, "normalized": _normalized, "raw": lambda xp, f: _finite(xp, f)}

#: The shapings a strategy's ``fitness_shaping`` may name.
FITNESS_SHAPINGS = {"centered_ranks": centered_ranks, "normalized": normalized, "raw": raw,
                    "rank_utilities": rank_utilities}


def shape_fitness(fitness, method="centered_ranks"):
    """Shapes scores by the method's name (a key of :data:`FITNESS_SHAPINGS`).

    Example:
        >>> shape_fitness([1.0, 5.0, 3.0])
        array([-0.5,  0.5,  0. ], dtype=float32)
    """
    if method not in FITNESS_SHAPINGS:
        raise ValueError(f"Expected fitness_shaping to be one of {list(FITNESS_SHAPINGS)}, received {method!r}.")
    return FITNESS_SHAPINGS[method](fitness)
