"""Multi-objective search with NSGA-II (DEAP's ``selNSGA2``): trade accuracy against model size.

Introduced in 07_multi_objective.ipynb.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from ..pareto import default_reference, hypervolume, pareto_mask
from .engine import Search
from .evolutionary import _check_rate, _check_size, evolve, params_key
from .space import as_space

__all__ = ["nsga2_search"]


def _signs(directions):
    signs = []
    for direction in directions:
        if direction not in ("maximize", "minimize"):
            raise ValueError(f"each direction must be 'maximize' or 'minimize'; received {direction!r}")
        signs.append(1.0 if direction == "maximize" else -1.0)
    return np.array(signs)


def _individual_class(num_objectives):
    """A throw-away DEAP individual class with ``num_objectives`` maximized objectives."""
    from deap import base

    fitness = type("ParetoFitness", (base.Fitness,), {"weights": (1.0,) * num_objectives})

    class ParetoIndividual(list):
        def __init__(self, genes=(), values=None):
            super().__init__(genes)
            self.fitness = fitness()
            if values is not None:
                self.fitness.values = tuple(values)

    return ParetoIndividual


class NSGA2:
    """NSGA-II as ask/tell over unit-cube genomes; the state is plain arrays (checkpoint-friendly).

    Offspring come from DEAP's crowded tournament (``selTournamentDCD``),
    simulated binary crossover and polynomial mutation; survivors from
    ``selNSGA2`` over parents and offspring. Values are stored sign-corrected
    so that every objective is maximized. A genome is evaluated once.
    """

    def __init__(self, space, population_size, signs, crossover_rate):
        self.space, self.population_size, self.signs = space, population_size, signs
        self.crossover_rate = crossover_rate
        self.genomes, self.values, self._offspring, self._pending = None, None, None, []
        self.known = {}  # decoded params (params_key) -> sign-corrected values: the same params are trained once

    def decode(self, genome):
        return self.space.decode(genome)

    def _individuals(self, genomes, values):
        individual = _individual_class(len(self.signs))
        return [individual(g, v) for g, v in zip(genomes, values)]

    def ask(self):
        from deap import tools

        d = len(self.space)
        if self.genomes is None:
            offspring = [[random.random() for _ in range(d)] for _ in range(self.population_size)]
        else:
            population = tools.selNSGA2(self._individuals(self.genomes, self.values), self.population_size)
            offspring = [list(ind) for ind in tools.selTournamentDCD(population, self.population_size)]
            for first, second in zip(offspring[::2], offspring[1::2]):
                if random.random() < self.crossover_rate:
                    tools.cxSimulatedBinaryBounded(first, second, eta=20.0, low=0.0, up=1.0)
                tools.mutPolynomialBounded(first, eta=20.0, low=0.0, up=1.0, indpb=1.0 / d)
                tools.mutPolynomialBounded(second, eta=20.0, low=0.0, up=1.0, indpb=1.0 / d)
        self._offspring = [tuple(genome) for genome in offspring]
        # a child that decodes to params evaluated before (or to a sibling's) is not evaluated again
        pending = {}
        for genome in self._offspring:
            key = params_key(self.decode(list(genome)))
            if key not in self.known:
                pending.setdefault(key, genome)
        self._pending = list(pending.values())
        return [list(genome) for genome in self._pending]

    def tell(self, values):
        from deap import tools

        values = np.array(values, dtype=float).reshape(len(values), len(self.signs)) * self.signs
        for genome, value in zip(self._pending, values):
            self.known[params_key(self.decode(list(genome)))] = value
        keys = {g: params_key(self.decode(list(g))) for g in dict.fromkeys(self._offspring)}
        offspring = [g for g, key in keys.items() if key in self.known]
        genomes, values = np.array(offspring), np.array([self.known[keys[g]] for g in offspring])
        if self.genomes is not None:
            genomes, values = np.vstack([self.genomes, genomes]), np.vstack([self.values, values])
        # failed trials (NaN) get a value worse than any real one in each objective
        finite = np.isfinite(values)
        worst = np.array([column[ok].min() - (column[ok].max() - column[ok].min()) - 1 if ok.any() else -1.0
                          for column, ok in zip(values.T, finite.T)])
        values = np.where(np.isfinite(values), values, worst)
        survivors = tools.selNSGA2(self._individuals(genomes, values), self.population_size)
        self.genomes = np.array([list(ind) for ind in survivors])
        self.values = np.array([ind.fitness.values for ind in survivors])


def nsga2_search(objective, space, n_trials=None, *, directions=("maximize", "minimize"), population_size=20,
                 crossover_rate=0.9, reference_point=None, timeout=None, seed=None, checkpoint=None, resume=False, overwrite=False,
                 callbacks=None, map=None, n_workers=None):
    """NSGA-II: searches for the best trade-offs between several objectives (the Pareto front).

    The objective returns one value per objective: a tuple in the order of
    ``directions``, or a dict keyed by the names when ``directions`` is a
    dict such as ``{"accuracy": "maximize", "num_parameters": "minimize"}``.

    Args:
        objective: ``objective(params) -> tuple or dict`` of values.
        space: a :class:`SearchSpace` or a dict of dimensions.
        n_trials: the number of evaluations (including resumed ones).
        directions: ``"maximize"``/``"minimize"`` per objective, as a sequence
            (objectives named ``objective_0``, ...) or a dict from names.
        population_size: individuals per generation, a multiple of 4 (default 20).
        crossover_rate: probability that a pair is crossed over (default 0.9).
        reference_point: the hypervolume's reference, one value per objective
            in its own units (default: the worst value seen in each objective,
            moved 10% of its range further out).
        timeout, seed, checkpoint, resume, overwrite, callbacks, map, n_workers: as in :func:`genetic_search`.

    Returns:
        A :class:`SearchResult` with ``pareto_front`` (a DataFrame of the
        non-dominated successful trials, over all trials), ``hypervolume``,
        and one trials column per objective. Its ``score`` column is the first
        objective, negated when minimized, so ``best_params`` is the front's
        best point in that objective.

    Example:
        >>> result = evolab.search.nsga2_search(objective, space, n_trials=100, seed=0,
        ...     directions={"accuracy": "maximize", "num_parameters": "minimize"})
        >>> result.pareto_front, result.hypervolume

    Introduced in 07_multi_objective.ipynb.
    """
    space = as_space(space)
    if isinstance(directions, dict):
        names, directions = list(directions), list(directions.values())
    else:
        directions = list(directions)
        names = [f"objective_{i}" for i in range(len(directions))]
    if len(directions) < 2:
        raise ValueError(f"nsga2_search needs at least 2 objectives; received directions={directions!r}")
    signs = _signs(directions)
    _check_size("population_size", population_size, 4)
    if population_size % 4:
        raise ValueError(f"population_size must be a multiple of 4 (NSGA-II's crowded tournament); "
                         f"received {population_size!r}")
    _check_rate("crossover_rate", crossover_rate)
    if reference_point is not None and len(reference_point) != len(names):
        raise ValueError(f"reference_point needs {len(names)} values; received {reference_point!r}")
    search = Search(objective, space, "nsga2", n_trials=n_trials, timeout=timeout, callbacks=callbacks, map=map,
                    n_workers=n_workers, objective_names=names, first_sign=signs[0])
    optimizer = NSGA2(space, population_size, signs, crossover_rate)
    settings = dict(directions=tuple(names), signs=tuple(signs), population_size=population_size,
                    crossover_rate=crossover_rate)
    search = evolve(search, optimizer, seed=seed, checkpoint=checkpoint, resume=resume, overwrite=overwrite,
                    settings=settings)

    table = search.trials_table()
    ok = table[table["status"] == "ok"]
    front, volume = ok.iloc[:0], float("nan")
    if len(ok):
        raw, maximize = ok[names].to_numpy(dtype=float), signs > 0
        front = ok[pareto_mask(raw, maximize)]
        # the same params trained twice give the same point twice: the front lists each model once
        key = front[list(search.param_names) + names].astype(str)  # str: params may be lists (architectures)
        front = front[~key.duplicated()].reset_index(drop=True)
        if reference_point is None:
            reference_point = default_reference(raw, maximize)
        volume = hypervolume(front[names].to_numpy(dtype=float), reference_point, maximize)
    info = {"directions": dict(zip(names, directions)),
            "reference_point": None if reference_point is None else [float(v) for v in reference_point]}
    return search.result(pareto_front=pd.DataFrame(front), hypervolume=volume, info=info)
