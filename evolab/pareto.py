"""Pareto dominance and hypervolume: the two numbers every multi-objective lesson needs.

Plain NumPy (and DEAP for hypervolumes in three or more objectives), no
plotting: :func:`evolab.search.nsga2_search` uses these to report its front,
and :func:`evolab.plot.pareto_front` to draw it.

Each objective is maximized or minimized; ``maximize`` says which (``True``,
``False`` or one bool per objective). Internally every objective is turned
so that higher is better.

Introduced in 07_multi_objective.ipynb.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pareto_mask", "hypervolume", "default_reference"]


def _points(points) -> np.ndarray:
    array = np.asarray(points, dtype=float)
    if array.ndim != 2 or array.shape[1] < 2:
        raise ValueError(f"Expected points of shape (n, k) with k >= 2 objectives per point; "
                         f"received shape {array.shape}")
    return array


def _signs(maximize, num_objectives) -> np.ndarray:
    flags = np.asarray(maximize, dtype=bool)
    if flags.ndim and flags.shape != (num_objectives,):
        raise ValueError(f"maximize needs one bool per objective ({num_objectives}); received {maximize!r}")
    return np.where(np.broadcast_to(flags, (num_objectives,)), 1.0, -1.0)


def pareto_mask(points, maximize=True) -> np.ndarray:
    """Which points no other point dominates (is at least as good in every objective and better in one).

    Args:
        points: an ``(n, k)`` array of objective values, k >= 2.
        maximize: ``True`` (all maximized, evolab's convention), ``False``,
            or one bool per objective, e.g. ``(True, False)`` for accuracy
            against parameter count.

    Returns:
        A boolean array of length n, True on the Pareto front. Equal points
        do not dominate each other, so duplicates are all on the front.

    Example:
        >>> evolab.pareto.pareto_mask([[1, 3], [2, 2], [1, 1]])
        array([ True,  True, False])
    """
    points = _points(points)
    oriented = points * _signs(maximize, points.shape[1])
    at_least = (oriented[None, :, :] >= oriented[:, None, :]).all(axis=2)  # [i, j]: j at least as good as i
    better = (oriented[None, :, :] > oriented[:, None, :]).any(axis=2)
    return ~(at_least & better).any(axis=1)


def default_reference(points, maximize=True) -> np.ndarray:
    """The worst value of each objective among ``points``, moved 10% of its range further out."""
    points = _points(points)
    signs = _signs(maximize, points.shape[1])
    oriented = points * signs
    spread = np.ptp(oriented, axis=0)
    return (oriented.min(axis=0) - 0.1 * np.where(spread > 0, spread, 1.0)) * signs


def hypervolume(points, reference=None, maximize=True) -> float:
    """The volume dominated by the Pareto front of ``points`` and bounded by a reference point (bigger is better).

    Args:
        points: an ``(n, k)`` array of objective values (dominated points add nothing).
        reference: the reference point in the objectives' own units (default
            :func:`default_reference`); points not better than it in every
            objective add nothing.
        maximize: as in :func:`pareto_mask`.

    Returns:
        The hypervolume as a float: an exact sweep for two objectives, DEAP's
        ``hypervolume`` for more.

    Example:
        >>> evolab.pareto.hypervolume([[3, 1], [1, 3]], reference=(0, 0))
        5.0
    """
    points = _points(points)
    signs = _signs(maximize, points.shape[1])
    if reference is None:
        reference = default_reference(points, maximize)
    reference = np.asarray(reference, dtype=float)
    if reference.shape != (points.shape[1],):
        raise ValueError(f"reference needs one value per objective ({points.shape[1]}); received {reference.tolist()}")
    oriented, ref = points * signs, reference * signs
    front = oriented[pareto_mask(oriented)]
    front = np.unique(front[(front > ref).all(axis=1)], axis=0)
    if len(front) == 0:
        return 0.0
    if points.shape[1] == 2:
        front = front[np.argsort(-front[:, 0])]  # first objective falling, so the second rises
        area, previous = 0.0, ref[1]
        for first, second in front:
            area += (first - ref[0]) * (second - previous)
            previous = second
        return float(area)
    from deap.benchmarks.tools import hypervolume as deap_hypervolume

    # DEAP reads each individual's fitness.wvalues (higher is better) and minimizes their negatives
    return float(deap_hypervolume([_Individual(row) for row in front], ref=-ref))


class _Fitness:  # the one attribute of a DEAP fitness that its hypervolume reads
    def __init__(self, values):
        self.wvalues = tuple(values)


class _Individual:
    def __init__(self, values):
        self.fitness = _Fitness(values)

