"""Grid search and random search (with optional successive halving).

Introduced in 02_grid_search.ipynb and 03_random_search.ipynb.
"""

from __future__ import annotations

import numpy as np

from .engine import Search, SuccessiveHalvingPruner
from .space import as_space

__all__ = ["grid_search", "random_search"]


def grid_search(objective, space, *, timeout=None, seed=None, callbacks=None, map=None, n_workers=None):
    """Evaluates every point of the space's grid, in order.

    A ``Real`` contributes ``num`` points (or its explicit ``points``), an
    ``Integer`` every allowed value (or ``num`` of them), a ``Categorical``
    every choice. Of equal scores the first in grid order wins, as in
    scikit-learn's ``GridSearchCV``.

    Args:
        objective: ``objective(params) -> float`` (higher is better), or
            ``objective(params, trial)``.
        space: a :class:`SearchSpace` or a dict of dimensions.
        timeout: optional seconds after which no new trial starts.
        seed: accepted so every method has the same signature; the grid
            order is fixed and uses no randomness.
        callbacks: a list of :class:`evolab.callbacks.Callback`.
        map: a backend from :mod:`evolab.parallel` (or any ``map``-like callable).
        n_workers: with no ``map``, run on this many local processes.

    Returns:
        A :class:`SearchResult`.

    Example:
        >>> space = {"C": [0.1, 1, 10], "gamma": [1e-3, 1e-2]}
        >>> result = evolab.search.grid_search(objective, space)
        >>> result.best_params

    Introduced in 02_grid_search.ipynb.
    """
    space = as_space(space)
    grid = space.grid()
    search = Search(objective, space, "grid", n_trials=len(grid), timeout=timeout, callbacks=callbacks, map=map,
                    n_workers=n_workers)
    with search:
        batch = max(1, getattr(search.map, "n_workers", 1))
        for start in range(0, len(grid), batch):
            search.evaluate(grid[start:start + batch])
    return search.result()


def random_search(objective, space, n_trials=None, *, timeout=None, seed=None, pruner=None, callbacks=None,
                  map=None, n_workers=None):
    """Samples the space at random, ``n_trials`` times.

    With ``pruner="successive_halving"`` (or a
    :class:`SuccessiveHalvingPruner`), an objective that calls
    ``trial.report(step, value)`` and checks ``trial.should_prune()`` is
    stopped early when it trails the earlier trials at a rung.

    Args:
        objective: ``objective(params) -> float`` or ``objective(params, trial)``.
        space: a :class:`SearchSpace` or a dict of dimensions.
        n_trials: the number of evaluations.
        timeout: optional seconds after which no new trial starts.
        seed: seeds the sampler: the same seed gives the same params.
        pruner: ``None``, ``"successive_halving"`` or a :class:`SuccessiveHalvingPruner`.
        callbacks: a list of :class:`evolab.callbacks.Callback`.
        map: a backend from :mod:`evolab.parallel` (or any ``map``-like callable).
        n_workers: with no ``map``, run on this many local processes.

    Returns:
        A :class:`SearchResult`.

    Example:
        >>> result = evolab.search.random_search(objective, space, n_trials=30, seed=0)

    Introduced in 03_random_search.ipynb.
    """
    space = as_space(space)
    if pruner == "successive_halving":
        pruner = SuccessiveHalvingPruner()
    if pruner is not None and not isinstance(pruner, SuccessiveHalvingPruner):
        raise ValueError(f"pruner must be None, 'successive_halving' or a SuccessiveHalvingPruner; received {pruner!r}")
    rng = np.random.default_rng(seed)
    search = Search(objective, space, "random", n_trials=n_trials, timeout=timeout, callbacks=callbacks, map=map,
                    n_workers=n_workers, pruner=pruner)
    with search:
        batch = max(1, getattr(search.map, "n_workers", 1))
        while True:
            search.evaluate([space.sample(rng) for _ in range(batch)])
    return search.result()
