"""DEAP, made safe for NumPy genomes, notebooks and batched evaluation.

This is the one module that speaks DEAP's dialect. Lessons that teach DEAP keep
writing DEAP (``creator``, ``toolbox``, ``eaSimple``, ``cxpb``, ``mutpb``,
``ngen``); this module removes three traps and one bottleneck:

* ``creator.create`` warns (and misbehaves) when a notebook cell is re-run:
  :func:`create_types` is safe to call any number of times.
* NumPy arrays are views, so DEAP's list-based crossovers silently swap halves
  of *one* array: :func:`cx_two_point`, :func:`cx_blend` and :func:`cx_uniform`
  copy properly (and are vectorised: DEAP's own loop over 101,770 genes is slow);
  :func:`hall_of_fame` compares individuals with ``numpy.array_equal``.
* DEAP evaluates one individual per call. :func:`use_batched_evaluation`
  replaces ``toolbox.map`` so that ``eaSimple``/``eaMuPlusLambda`` hand every
  new individual of a generation to :class:`evolab.PopulationEvaluator` at once.

Introduced in 05_genetic_algorithms.ipynb and 09_neuroevolution_the_hard_way.ipynb.
"""

from __future__ import annotations

import functools
import random

import numpy as np
from deap import base, creator, tools

__all__ = ["create_types", "cx_two_point", "cx_blend", "cx_uniform", "mut_gaussian", "hall_of_fame",
           "BatchedMap", "use_batched_evaluation", "numpy_toolbox"]


_CREATED = {}  # name -> what it was created from, so a re-run reuses identical classes


def create_types(weights=(1.0,), fitness_name="FitnessMax", individual_name="Individual", base_type=np.ndarray):
    """Creates DEAP's fitness and individual classes, safely on every re-run of a cell.

    Args:
        weights: the fitness weights, ``(1.0,)`` to maximise one objective,
            ``(1.0, -1.0)`` for accuracy up and size down, ...
        fitness_name, individual_name: the names under ``deap.creator``.
        base_type: ``numpy.ndarray`` (default) or ``list`` (the seed lessons' genomes).

    Returns:
        ``(fitness_class, individual_class)``.

    Example:
        >>> FitnessMax, Individual = evolab.deap_tools.create_types()
    """
    weights = tuple(float(w) for w in weights)
    if _CREATED.get(fitness_name) != weights or not hasattr(creator, fitness_name):
        if hasattr(creator, fitness_name):
            delattr(creator, fitness_name)
        creator.create(fitness_name, base.Fitness, weights=weights)
        _CREATED[fitness_name] = weights
    fitness_class = getattr(creator, fitness_name)
    spec = (base_type, fitness_class)
    if _CREATED.get(individual_name) != spec or not hasattr(creator, individual_name):
        if hasattr(creator, individual_name):
            delattr(creator, individual_name)
        creator.create(individual_name, base_type, fitness=fitness_class)
        _CREATED[individual_name] = spec
    return fitness_class, getattr(creator, individual_name)


def _genes(individual):
    return individual if isinstance(individual, np.ndarray) else np.asarray(individual, dtype=float)


def _write(individual, values):
    if isinstance(individual, np.ndarray):
        individual[:] = values
    else:
        individual[:] = values.tolist()


def cx_two_point(ind1, ind2):
    """Two-point crossover that really swaps between NumPy genomes (copies, unlike slicing views)."""
    size = min(len(ind1), len(ind2))
    a, b = sorted(random.sample(range(1, size), 2)) if size > 2 else (0, size)
    g1, g2 = _genes(ind1).copy(), _genes(ind2).copy()
    g1[a:b], g2[a:b] = _genes(ind2)[a:b].copy(), _genes(ind1)[a:b].copy()
    _write(ind1, g1)
    _write(ind2, g2)
    return ind1, ind2


def cx_blend(ind1, ind2, alpha):
    """Blend crossover (BLX-alpha, as ``deap.tools.cxBlend``), vectorised for long genomes."""
    g1, g2 = _genes(ind1).astype(float), _genes(ind2).astype(float)
    gamma = (1.0 + 2.0 * alpha) * np.random.default_rng(random.getrandbits(32)).random(len(g1)) - alpha
    _write(ind1, (1.0 - gamma) * g1 + gamma * g2)
    _write(ind2, gamma * g1 + (1.0 - gamma) * g2)
    return ind1, ind2


def cx_uniform(ind1, ind2, indpb):
    """Uniform crossover: each gene swapped with probability ``indpb`` (vectorised, copy-safe)."""
    g1, g2 = _genes(ind1).copy(), _genes(ind2).copy()
    swap = np.random.default_rng(random.getrandbits(32)).random(len(g1)) < indpb
    g1[swap], g2[swap] = _genes(ind2)[swap], _genes(ind1)[swap]
    _write(ind1, g1)
    _write(ind2, g2)
    return ind1, ind2


def mut_gaussian(individual, mu, sigma, indpb):
    """Gaussian mutation (as ``deap.tools.mutGaussian``), vectorised: one NumPy call, not one per gene."""
    genes = _genes(individual).astype(float)
    rng = np.random.default_rng(random.getrandbits(32))
    mask = rng.random(len(genes)) < indpb
    genes[mask] += rng.normal(mu, sigma, int(mask.sum()))
    _write(individual, genes)
    return (individual,)


def hall_of_fame(maxsize=1):
    """A ``deap.tools.HallOfFame`` that compares NumPy individuals correctly (``numpy.array_equal``)."""
    return tools.HallOfFame(maxsize, similar=np.array_equal)


class BatchedMap:
    """A ``toolbox.map`` that scores all individuals of one call in one batched pass.

    DEAP's algorithms call ``toolbox.map(toolbox.evaluate, invalid_ind)``. When
    ``func`` is this object's :attr:`evaluate`, the individuals are stacked into
    one ``(n, num_params)`` array and given to ``population_evaluator``; any
    other function falls back to ``fallback_map`` (the built-in ``map``, or a
    parallel one from :mod:`evolab.parallel`).

    Args:
        population_evaluator: a function ``(n, num_params) array -> (n,)`` scores,
            e.g. :class:`evolab.PopulationEvaluator`.
        fallback_map: the map used for everything else.
    """

    def __init__(self, population_evaluator, fallback_map=map):
        self.population_evaluator = population_evaluator
        self.fallback_map = fallback_map
        self.num_batches = 0

    def evaluate(self, individual):
        """Scores one individual (DEAP's 1-tuple); ``toolbox.map`` batches calls to this."""
        return (float(self.population_evaluator(np.asarray(individual, np.float32)[None, :])[0]),)

    def _is_evaluate(self, func):
        while isinstance(func, functools.partial):
            func = func.func
        return getattr(func, "__func__", None) is BatchedMap.evaluate and getattr(func, "__self__", None) is self

    def __call__(self, func, iterable):
        if not self._is_evaluate(func):
            return list(self.fallback_map(func, iterable))
        individuals = list(iterable)
        if not individuals:
            return []
        genomes = [np.asarray(ind, np.float32) for ind in individuals]
        shapes = sorted({genome.shape for genome in genomes})
        if len(shapes) > 1:
            raise ValueError(f"Expected individuals of one length (the model's number of parameters); received "
                             f"shapes {shapes} in one batch of {len(genomes)}.")
        scores = self.population_evaluator(np.stack(genomes))
        self.num_batches += 1
        return [(float(score),) for score in np.asarray(scores).reshape(-1)]


def use_batched_evaluation(toolbox, population_evaluator, fallback_map=map):
    """Registers ``evaluate`` and a batched ``map`` on a DEAP toolbox.

    After this, ``deap.algorithms.eaSimple(population, toolbox, cxpb, mutpb, ngen)``
    runs unchanged, but each generation's new individuals are scored together.

    Returns:
        The :class:`BatchedMap` (its ``num_batches`` counts the batched calls).

    Example:
        >>> evaluator = evolab.PopulationEvaluator(model, x_val, y_val)
        >>> evolab.deap_tools.use_batched_evaluation(toolbox, evaluator)
    """
    batched = BatchedMap(population_evaluator, fallback_map)
    toolbox.register("evaluate", batched.evaluate)
    toolbox.register("map", batched)
    return batched


def numpy_toolbox(center, sigma=0.1, weights=(1.0,)):
    """A toolbox whose individuals are NumPy copies of ``center`` plus Gaussian noise.

    Registers ``individual``, ``population``, ``clone`` and the copy-safe
    operators above under DEAP's usual names (``mate``, ``mutate``, ``select``).
    """
    _, individual_class = create_types(weights)
    center = np.asarray(center, dtype=np.float32)
    if center.ndim != 1 or center.size == 0 or not np.all(np.isfinite(center)):
        raise ValueError(f"Expected center to be a non-empty 1-D array of finite numbers; received shape "
                         f"{center.shape}{' with NaN or infinite values' if center.size else ''}.")
    toolbox = base.Toolbox()

    def make():
        rng = np.random.default_rng(random.getrandbits(32))
        return individual_class((center + sigma * rng.standard_normal(center.shape)).astype(np.float32))

    toolbox.register("individual", make)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("mate", cx_blend, alpha=0.5)
    toolbox.register("mutate", mut_gaussian, mu=0.0, sigma=sigma, indpb=0.1)
    toolbox.register("select", tools.selTournament, tournsize=3)
    return toolbox
