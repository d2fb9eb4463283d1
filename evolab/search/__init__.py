"""Hyperparameter search: one search space, one objective signature, one result type, every method.

An objective is ``objective(params: dict) -> float`` (higher is better),
optionally ``objective(params, trial)`` to report intermediate values for
pruning. Swap one line to change method::

    space = {"learning_rate": Real(1e-4, 1e-1, log=True), "units": Integer(16, 256, log=True)}
    result = evolab.search.random_search(objective, space, n_trials=30, seed=0)
    result = evolab.search.bayesian_search(objective, space, n_trials=30, seed=0)
    result = evolab.search.genetic_search(objective, space, n_trials=30, seed=0)

Introduced in 02_grid_search.ipynb.
"""

from .architecture import architecture_search
from .basic import grid_search, random_search
from .bayesian import bayesian_search
from .compare import compare
from .engine import SuccessiveHalvingPruner, Trial, TrialPruned
from .evolutionary import cmaes_search, de_search, genetic_search, pso_search
from .nsga2 import nsga2_search
from .result import SearchFailedError, SearchResult
from .space import Categorical, Integer, Real, SearchSpace

__all__ = [
    "Real", "Integer", "Categorical", "SearchSpace", "SearchResult", "SearchFailedError",
    "Trial", "TrialPruned", "SuccessiveHalvingPruner",
    "grid_search", "random_search", "bayesian_search", "genetic_search", "pso_search", "de_search",
    "cmaes_search", "nsga2_search", "architecture_search", "keras_objective", "build_mlp", "compare",
]


def __getattr__(name):
    # The Keras helpers load Keras (seconds); importing them lazily keeps search workers quick to start.
    if name in ("keras_objective", "build_mlp", "KerasObjective"):
        from . import keras as keras_helpers

        return getattr(keras_helpers, name)
    raise AttributeError(f"module 'evolab.search' has no attribute {name!r}")
