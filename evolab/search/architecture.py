"""Evolutionary architecture search: genomes are lists of layer specs that grow, shrink and recombine.

Introduced in 08_evolving_architectures.ipynb.
"""

from __future__ import annotations

import copy
import math
import random

from .engine import Search
from .evolutionary import _check_rate, _check_size, _Individual, _fitness, evolve

__all__ = ["architecture_search", "random_layer", "mutate_layers", "crossover_layers"]


def random_layer(min_units=8, max_units=256, activations=("relu", "tanh"), dropouts=(0.0, 0.1, 0.2, 0.3)) -> dict:
    """One random layer spec: ``{"units": int, "activation": str, "dropout": float}`` (units log-uniform)."""
    units = int(round(math.exp(random.uniform(math.log(min_units), math.log(max_units)))))
    return {"units": units, "activation": random.choice(list(activations)), "dropout": random.choice(list(dropouts))}


def mutate_layers(layers, min_layers=1, max_layers=4, min_units=8, max_units=256, activations=("relu", "tanh"),
                  dropouts=(0.0, 0.1, 0.2, 0.3)):
    """Returns a mutated copy: one of add a layer, remove a layer, resize a layer, change an activation or dropout."""
    layers = copy.deepcopy(list(layers))
    moves = ["resize", "activation", "dropout"]
    if len(layers) < max_layers:
        moves.append("add")
    if len(layers) > min_layers:
        moves.append("remove")
    move = random.choice(moves)
    position = random.randrange(len(layers))
    if move == "add":
        layers.insert(random.randrange(len(layers) + 1), random_layer(min_units, max_units, activations, dropouts))
    elif move == "remove":
        del layers[position]
    elif move == "resize":  # multiply by a factor between 1/2 and 2
        units = layers[position]["units"] * 2 ** random.uniform(-1, 1)
        layers[position]["units"] = int(min(max(round(units), min_units), max_units))
    elif move == "activation":
        layers[position]["activation"] = random.choice(list(activations))
    else:
        layers[position]["dropout"] = random.choice(list(dropouts))
    return layers


def crossover_layers(first, second, min_layers=1, max_layers=4):
    """One-point crossover of two layer lists (cut points may differ): returns two children."""
    i, j = random.randint(1, len(first)), random.randint(1, len(second))
    children = [first[:i] + second[j:], second[:j] + first[i:]]
    children = [copy.deepcopy(child[:max_layers]) for child in children]
    parents = [first, second]
    return [child if len(child) >= min_layers else copy.deepcopy(parent) for child, parent in zip(children, parents)]


class ArchitectureEvolution:
    """A GA over layer lists: tournament selection (DEAP), crossover, mutation, one elite; each architecture trained once."""

    def __init__(self, population_size, crossover_rate, mutation_rate, tournament_size, options):
        self.population_size, self.tournament_size = population_size, tournament_size
        self.crossover_rate, self.mutation_rate = crossover_rate, mutation_rate
        self.options = options  # min/max layers and units, activations, dropouts
        self.population, self._offspring, self._pending = None, None, []
        self.known = {}  # repr(genome) -> fitness values: an architecture is trained once

    def decode(self, genome):
        return {"layers": copy.deepcopy(genome)}

    def _recall(self, individuals):
        for ind in individuals:
            if not ind.fitness.valid and repr(list(ind)) in self.known:
                ind.fitness.values = self.known[repr(list(ind))]

    def ask(self):
        from deap import tools

        o = self.options
        if self.population is None:
            self._offspring = [_Individual([random_layer(o["min_units"], o["max_units"], o["activations"],
                                                         o["dropouts"])
                                            for _ in range(random.randint(o["min_layers"], o["max_layers"]))])
                               for _ in range(self.population_size)]
        else:
            parents = tools.selTournament(self.population, self.population_size, tournsize=self.tournament_size)
            offspring = [_Individual(copy.deepcopy(list(p))) for p in parents]
            for ind, parent in zip(offspring, parents):
                ind.fitness.values = parent.fitness.values
            for k in range(1, len(offspring), 2):
                if random.random() < self.crossover_rate:
                    a, b = crossover_layers(offspring[k - 1], offspring[k], o["min_layers"], o["max_layers"])
                    offspring[k - 1], offspring[k] = _Individual(a), _Individual(b)
            for k, ind in enumerate(offspring):
                if random.random() < self.mutation_rate:
                    offspring[k] = _Individual(mutate_layers(ind, **o))
            self._recall(offspring)
            for _ in range(100):  # nothing new to train: mutate one at a time, so the run moves
                if not all(ind.fitness.valid for ind in offspring):
                    break
                k = random.randrange(len(offspring))
                offspring[k] = _Individual(mutate_layers(offspring[k], **o))
                self._recall([offspring[k]])
            self._offspring = offspring
        # each new architecture once, even when two children came out equal
        pending = {repr(list(ind)): list(ind) for ind in self._offspring if not ind.fitness.valid}
        self._pending = list(pending)
        return list(pending.values())

    def tell(self, scores):
        for key, score in zip(self._pending, scores):
            self.known[key] = _fitness(score)
        self._recall(self._offspring)
        self._offspring = [ind for ind in self._offspring if ind.fitness.valid]
        if self.population is not None and self._offspring:
            elite = max(self.population, key=lambda ind: ind.fitness)
            worst = min(range(len(self._offspring)), key=lambda k: self._offspring[k].fitness)
            if elite.fitness > self._offspring[worst].fitness:
                self._offspring[worst] = elite
        self.population, self._offspring = self._offspring, None


def architecture_search(objective, n_trials=None, *, population_size=10, min_layers=1, max_layers=4, min_units=8,
                        max_units=256, activations=("relu", "tanh"), dropouts=(0.0, 0.1, 0.2, 0.3),
                        crossover_rate=0.5, mutation_rate=0.7, tournament_size=3, timeout=None, seed=None,
                        checkpoint=None, resume=False, overwrite=False, callbacks=None, map=None, n_workers=None):
    """Evolves network architectures: each genome is a list of hidden-layer specs.

    A genome looks like ``[{"units": 64, "activation": "relu", "dropout": 0.1}, ...]``;
    the objective receives ``{"layers": genome}`` and usually trains the
    network for a few epochs (see :func:`evolab.search.keras_objective` and
    :func:`evolab.search.build_mlp`). Mutations add, remove or resize a
    layer or change its activation or dropout; crossover splices two parents
    at a cut point in each.

    Args:
        objective: ``objective({"layers": [...]}) -> float`` (higher is better).
        n_trials: the number of evaluations (including resumed ones).
        population_size: genomes per generation (default 10).
        min_layers, max_layers: the allowed depth (default 1 to 4).
        min_units, max_units: the allowed width of a layer (default 8 to 256).
        activations: the activations to choose from (default relu, tanh).
        dropouts: the dropout rates to choose from.
        crossover_rate: probability that a pair is crossed over (default 0.5).
        mutation_rate: probability that a genome is mutated (default 0.7).
        tournament_size: genomes per selection tournament (default 3).
        timeout, seed, checkpoint, resume, overwrite, callbacks, map, n_workers: as in :func:`genetic_search`.

    Returns:
        A :class:`SearchResult` whose ``best_params["layers"]`` is the best architecture.

    Example:
        >>> objective = evolab.search.keras_objective(
        ...     lambda p: evolab.search.build_mlp(p["layers"], data.input_shape, 10), data, epochs=3)
        >>> result = evolab.search.architecture_search(objective, n_trials=40, seed=0)

    Introduced in 08_evolving_architectures.ipynb.
    """
    _check_size("population_size", population_size, 2)
    _check_size("min_layers", min_layers, 1)
    if isinstance(max_layers, int) and max_layers < min_layers:
        raise ValueError(f"max_layers must be >= min_layers ({min_layers}); received max_layers={max_layers!r}")
    _check_size("max_layers", max_layers, min_layers)
    _check_size("min_units", min_units, 1)
    if isinstance(max_units, int) and max_units < min_units:
        raise ValueError(f"max_units must be >= min_units ({min_units}); received max_units={max_units!r}")
    _check_size("max_units", max_units, min_units)
    _check_size("tournament_size", tournament_size, 1)
    _check_rate("crossover_rate", crossover_rate)
    _check_rate("mutation_rate", mutation_rate)
    if not activations or not dropouts:
        raise ValueError(f"activations and dropouts must not be empty; received {activations!r}, {dropouts!r}")
    options = {"min_layers": min_layers, "max_layers": max_layers, "min_units": min_units, "max_units": max_units,
               "activations": tuple(activations), "dropouts": tuple(dropouts)}
    optimizer = ArchitectureEvolution(population_size, crossover_rate, mutation_rate, tournament_size, options)
    search = Search(objective, None, "architecture", n_trials=n_trials, timeout=timeout, callbacks=callbacks,
                    map=map, n_workers=n_workers, param_names=["layers"])
    settings = dict(population_size=population_size, crossover_rate=crossover_rate, mutation_rate=mutation_rate,
                    tournament_size=tournament_size, **options)
    return evolve(search, optimizer, seed=seed, checkpoint=checkpoint, resume=resume, overwrite=overwrite,
                  settings=settings).result()
