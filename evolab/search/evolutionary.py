"""Evolutionary search over the unit cube: a DEAP genetic algorithm, PSO, differential evolution and CMA-ES.

Every method here is an *optimizer* with ``ask()`` (the genomes to evaluate
next) and ``tell(scores)``, driven by one loop, :func:`evolve`, which
decodes genomes into params, runs them through the shared
:class:`~evolab.search.engine.Search` (budgets, callbacks, workers) and
saves a checkpoint after every generation. A genome is a point of
``[0, 1]^d`` (or a bit string for the binary GA); the space decodes it.

DEAP draws its random numbers from Python's ``random`` and NumPy's global
generator. With ``seed=``, a search gets its own seeded copy of both streams,
swapped in only while the optimizer asks and tells: an objective that seeds
or draws random numbers (Keras does), or a Dask client that does, cannot
shift the search, so serial and parallel runs make the same trials. A
checkpoint stores the streams: a resumed search makes the same trials as one
that was never interrupted.

Introduced in 05_genetic_algorithms.ipynb and 06_swarms_and_strategies.ipynb.
"""

from __future__ import annotations

import math
import random
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from deap import base

from .. import checkpoint as checkpoints
from .engine import Search
from .space import as_space

__all__ = ["genetic_search", "pso_search", "de_search", "cmaes_search", "evolve"]


# Module-level DEAP classes (not deap.creator): they pickle by reference, to workers and into checkpoints.
class _MaxFitness(base.Fitness):
    weights = (1.0,)


class _Individual(list):
    """A list of genes with a DEAP fitness, as ``creator.create("Individual", list, fitness=...)`` would make."""

    def __init__(self, genes=()):
        super().__init__(genes)
        self.fitness = _MaxFitness()


def params_key(params):
    """A hashable text of decoded params: genomes that decode to the same params share one key (and one trial)."""
    return repr(sorted(params.items()))


def _fitness(score):
    """A score as a DEAP fitness value: failed trials (NaN) rank below everything."""
    return (-np.inf,) if np.isnan(score) else (float(score),)


# --- the shared generation loop ------------------------------------------------------
class _Streams:
    """Python's ``random`` and NumPy's global generator as the search's own: swapped in around ask/tell only.

    With ``seed=None`` the search draws from (and advances) the global
    streams, as a DEAP script does.
    """

    def __init__(self, seed=None, states=None):
        self.private = seed is not None or states is not None
        if states is not None:
            self.states = states
        elif seed is not None:
            saved = random.getstate(), np.random.get_state()
            random.seed(seed)
            np.random.seed(seed % 2**32)
            self.states = random.getstate(), np.random.get_state()
            random.setstate(saved[0])
            np.random.set_state(saved[1])

    @contextmanager
    def active(self):
        if not self.private:
            yield
            return
        saved = random.getstate(), np.random.get_state()
        random.setstate(self.states[0])
        np.random.set_state(self.states[1])
        try:
            yield
        finally:
            self.states = random.getstate(), np.random.get_state()
            random.setstate(saved[0])
            np.random.set_state(saved[1])

    def get_state(self):
        return self.states if self.private else (random.getstate(), np.random.get_state())


def _set_up(search, seed, settings):
    """What a resumed run must share with the run that wrote the checkpoint (budgets may grow; callbacks and maps
    may change): the method's settings, the seed, the objective (by its qualified name) and every dimension's
    options, ``bits`` included."""
    objective = getattr(search.objective, "__qualname__", type(search.objective).__qualname__)
    space = None if search.space is None else {
        name: (type(dim).__name__, sorted(vars(dim).items())) for name, dim in search.space.dimensions.items()}
    # as text: a checkpoint holds only plain data (evolab.checkpoint), whatever objects the options are
    return {key: repr(value) for key, value in {**settings, "seed": seed, "objective": objective,
                                                 "space": space}.items()}


def evolve(search: Search, optimizer, *, seed=None, checkpoint=None, resume=False, overwrite=False, settings=None):
    """Runs ``optimizer`` (ask/tell) until the search's budget ends; returns ``search`` (call ``.result()``).

    Args:
        search: the :class:`~evolab.search.engine.Search` that runs and records trials.
        optimizer: an object with ``ask() -> list of genomes``, ``tell(scores)`` and ``decode(genome) -> params``.
            An empty ``ask()`` means the optimizer has nothing new to try, and the search ends.
        seed: seeds the optimizer's private copies of Python's ``random`` and NumPy's global generator
            (DEAP draws from both); ``None`` uses the global streams.
        checkpoint: a file path; the state is saved there after every generation.
        resume: when True and ``checkpoint`` exists, continue from it.
        overwrite: when True, an existing ``checkpoint`` is replaced by this fresh run.
        settings: the method's own options (population size, rates...): a resume with others is refused.
    """
    fingerprint = (search.method, repr(search.space) if search.space is not None else search.param_names)
    set_up = _set_up(search, seed, settings or {})
    streams = _Streams(seed)
    path = None if checkpoint is None else Path(checkpoint)
    with checkpoints.holding(path, resume=resume, overwrite=overwrite):
        if resume and path is not None and path.is_file():
            state = checkpoints.load(path)
            if not isinstance(state, dict) or "fingerprint" not in state or "optimizer" not in state:
                raise checkpoints.CheckpointError(f"checkpoint {str(path)!r} is not a search checkpoint.")
            if state["fingerprint"] != fingerprint:
                raise ValueError(f"checkpoint {str(path)!r} belongs to another search: expected "
                                 f"{fingerprint!r}; received {state['fingerprint']!r}")
            saved = state.get("set_up", set_up)  # checkpoints written before 2026-12-08 hold none
            differs = [f"{key} (checkpoint: {saved.get(key)}; now: {set_up.get(key)})"
                       for key in sorted(set(saved) | set(set_up)) if saved.get(key) != set_up.get(key)]
            if differs:
                raise ValueError(f"checkpoint {str(path)!r} was written by a search set up differently: "
                                 + "; ".join(differs) + ". Resume with the same settings, or pass overwrite=True "
                                 "to start afresh.")
            optimizer = state["optimizer"]
            search.restore(state["records"], replay_from=state.get("told", len(state["records"])))
            streams = _Streams(states=(state["random_state"], state["numpy_state"]))
        told = None  # the records the optimizer had learned from at the last checkpoint
        with search:
            try:
                while True:
                    with streams.active():
                        genomes = optimizer.ask()
                    if not len(genomes):
                        break
                    scores = search.evaluate([optimizer.decode(g) for g in genomes])
                    with streams.active():
                        optimizer.tell(scores)
                    if path is not None:
                        python_state, numpy_state = streams.get_state()
                        told = len(search.records)
                        checkpoints.save(path, {"fingerprint": fingerprint, "set_up": set_up, "optimizer": optimizer,
                                                "records": search.records, "told": told,
                                                "random_state": python_state, "numpy_state": numpy_state})
            finally:  # stopped inside a generation (budget, time, Stop): keep its trials too, to be given back
                if told is not None and len(search.records) > told:
                    state = checkpoints.load(path)  # the optimizer as it was after its last tell
                    checkpoints.save(path, {**state, "records": search.records})
    return search


def _check_size(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; received {value!r}")


def _check_rate(name, value):
    if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1]; received {value!r}")


# --- genetic algorithm ----------------------------------------------------------------
class GeneticAlgorithm:
    """DEAP's simple GA (tournament selection, ``varAnd``, one elite), as ask/tell.

    Real genomes use simulated binary crossover and polynomial mutation
    (bounded to the unit cube); binary genomes use two-point crossover and
    bit flips. A genome is evaluated once: a child equal to a genome seen
    before (crossover of two equal parents makes many) takes its fitness.
    """

    def __init__(self, space, population_size, encoding, crossover_rate, mutation_rate, tournament_size):
        self.space, self.encoding = space, encoding
        self.length = len(space) if encoding == "real" else space.num_bits()
        self.population_size, self.tournament_size = population_size, tournament_size
        self.crossover_rate, self.mutation_rate = crossover_rate, mutation_rate
        self.population, self._offspring, self._pending = None, None, []
        self.known = {}  # decoded params (params_key) -> fitness values: the same params are never trained twice

    def decode(self, genome):
        return self.space.decode(genome) if self.encoding == "real" else self.space.decode_bits(genome)

    def _toolbox(self):
        from deap import base, tools

        toolbox = base.Toolbox()
        if self.encoding == "real":
            toolbox.register("mate", tools.cxSimulatedBinaryBounded, eta=15.0, low=0.0, up=1.0)
            toolbox.register("mutate", tools.mutPolynomialBounded, eta=20.0, low=0.0, up=1.0,
                             indpb=1.0 / self.length)
        else:
            toolbox.register("mate", tools.cxTwoPoint if self.length >= 3 else tools.cxUniform,
                             **({} if self.length >= 3 else {"indpb": 0.5}))
            toolbox.register("mutate", tools.mutFlipBit, indpb=1.0 / self.length)
        return toolbox

    def ask(self):
        from deap import algorithms, tools

        if self.population is None:
            make_gene = random.random if self.encoding == "real" else (lambda: random.randint(0, 1))
            self._offspring = [_Individual(make_gene() for _ in range(self.length)) for _ in range(self.population_size)]
        else:
            toolbox = self._toolbox()
            parents = tools.selTournament(self.population, self.population_size, tournsize=self.tournament_size)
            self._offspring = algorithms.varAnd(parents, toolbox, cxpb=self.crossover_rate, mutpb=self.mutation_rate)
            self._recall(self._offspring)
            for _ in range(100):  # nothing new to try: mutate one at a time, so the run moves
                if not all(ind.fitness.valid for ind in self._offspring):
                    break
                lucky = random.choice(self._offspring)
                toolbox.mutate(lucky)
                del lucky.fitness.values
                self._recall([lucky])
        # each new genome once, even when two children came out equal
        pending = {}
        for ind in self._offspring:  # genomes that decode to the same params (one Integer bin...) are one trial
            if not ind.fitness.valid:
                pending.setdefault(params_key(self.decode(list(ind))), tuple(ind))
        self._pending = list(pending.values())
        return [list(genome) for genome in self._pending]

    def _recall(self, individuals):
        """Gives back the fitness of genomes evaluated before (crossover of equal parents makes many)."""
        for ind in individuals:
            key = params_key(self.decode(list(ind)))
            if not ind.fitness.valid and key in self.known:
                ind.fitness.values = self.known[key]

    def tell(self, scores):
        for genome, score in zip(self._pending, scores):
            self.known[params_key(self.decode(list(genome)))] = _fitness(score)
        self._recall(self._offspring)
        self._offspring = [ind for ind in self._offspring if ind.fitness.valid]  # the budget may end mid-generation
        if self.population is not None and self._offspring:  # elitism: the best so far survives
            elite = max(self.population, key=lambda ind: ind.fitness)
            worst = min(range(len(self._offspring)), key=lambda i: self._offspring[i].fitness)
            if elite.fitness > self._offspring[worst].fitness and elite not in self._offspring:
                self._offspring[worst] = elite
        self.population, self._offspring = self._offspring, None


def genetic_search(objective, space, n_trials=None, *, population_size=20, encoding="real", crossover_rate=0.7,
                   mutation_rate=0.3, tournament_size=3, timeout=None, seed=None, checkpoint=None, resume=False, overwrite=False,
                   callbacks=None, map=None, n_workers=None):
    """A genetic algorithm (DEAP): tournament selection, crossover, mutation, one elite.

    Args:
        objective: ``objective(params) -> float`` (higher is better).
        space: a :class:`SearchSpace` or a dict of dimensions.
        n_trials: the number of evaluations (including resumed ones).
        population_size: individuals per generation (default 20).
        encoding: ``"real"`` (a point of the unit cube, default) or
            ``"binary"`` (a bit string, as in the DEAP lesson).
        crossover_rate: probability that a pair is crossed over (DEAP's ``cxpb``, default 0.7).
        mutation_rate: probability that an individual is mutated (DEAP's ``mutpb``, default 0.3).
        tournament_size: individuals per selection tournament (default 3).
        timeout: optional seconds after which no new trial starts.
        seed: seeds the run (same seed, same trials when run serially).
        checkpoint: a file saved after every generation (read back without running code:
            :mod:`evolab.checkpoint`). Resuming needs the same settings, seed, space and objective
            (known by its qualified name: a wrapper made with ``functools.wraps`` keeps it).
        resume: continue from ``checkpoint`` when it exists.
        overwrite: start afresh over an existing ``checkpoint`` (without it or ``resume``, an existing
            checkpoint is an error, never silently replaced).
        callbacks: a list of :class:`evolab.callbacks.Callback`.
        map: a backend from :mod:`evolab.parallel`; a generation is evaluated in one call.
            ``map=ProcessMap(4, timeout=600)`` also fails any trial that runs past 600 s.
        n_workers: with no ``map``, run on this many local processes.

    Returns:
        A :class:`SearchResult`.

    Example:
        >>> result = evolab.search.genetic_search(objective, space, n_trials=100, encoding="binary", seed=0)

    Introduced in 05_genetic_algorithms.ipynb.
    """
    space = as_space(space)
    if encoding not in ("real", "binary"):
        raise ValueError(f"encoding must be 'real' or 'binary'; received {encoding!r}")
    _check_size("population_size", population_size, 2)
    _check_size("tournament_size", tournament_size, 1)
    _check_rate("crossover_rate", crossover_rate)
    _check_rate("mutation_rate", mutation_rate)
    optimizer = GeneticAlgorithm(space, population_size, encoding, crossover_rate, mutation_rate, tournament_size)
    search = Search(objective, space, f"genetic-{encoding}" if encoding == "binary" else "genetic",
                    n_trials=n_trials, timeout=timeout, callbacks=callbacks, map=map, n_workers=n_workers)
    settings = dict(population_size=population_size, encoding=encoding, crossover_rate=crossover_rate,
                    mutation_rate=mutation_rate, tournament_size=tournament_size)
    return evolve(search, optimizer, seed=seed, checkpoint=checkpoint, resume=resume, overwrite=overwrite,
                  settings=settings).result()


# --- particle swarm ---------------------------------------------------------------------
class ParticleSwarm:
    """Global-best particle swarm optimization with inertia (Clerc's constriction constants).

    Each particle is pulled towards its own best point and the swarm's best;
    positions stay in the unit cube and speeds are capped at ``max_speed``.
    DEAP ships PSO only as an example script, so this is plain NumPy.
    """

    def __init__(self, space, population_size, inertia=0.7298, cognitive=1.49618, social=1.49618, max_speed=0.2,
                 seed=None):
        self.space, self.population_size = space, population_size
        self.inertia, self.cognitive, self.social, self.max_speed = inertia, cognitive, social, max_speed
        self.rng = np.random.default_rng(seed)
        self.positions = None

    def decode(self, genome):
        return self.space.decode(genome)

    def ask(self):
        n, d = self.population_size, len(self.space)
        if self.positions is None:
            self.positions = self.rng.uniform(size=(n, d))
            self.speeds = self.rng.uniform(-self.max_speed, self.max_speed, size=(n, d))
            self.best_positions, self.best_scores = self.positions.copy(), np.full(n, -np.inf)
        else:
            swarm_best = self.best_positions[np.argmax(self.best_scores)]
            pull_own = self.cognitive * self.rng.uniform(size=(n, d)) * (self.best_positions - self.positions)
            pull_swarm = self.social * self.rng.uniform(size=(n, d)) * (swarm_best - self.positions)
            self.speeds = np.clip(self.inertia * self.speeds + pull_own + pull_swarm, -self.max_speed, self.max_speed)
            self.positions = np.clip(self.positions + self.speeds, 0.0, 1.0)
        return list(self.positions)

    def tell(self, scores):
        scores = np.nan_to_num(np.asarray(scores, dtype=float), nan=-np.inf)
        improved = scores > self.best_scores[: len(scores)]
        index = np.flatnonzero(improved)
        self.best_scores[index] = scores[index]
        self.best_positions[index] = self.positions[index]


def pso_search(objective, space, n_trials=None, *, population_size=10, inertia=0.7298, cognitive=1.49618,
               social=1.49618, max_speed=0.2, timeout=None, seed=None, checkpoint=None, resume=False, overwrite=False, callbacks=None,
               map=None, n_workers=None):
    """Particle swarm optimization over the unit cube of the space.

    Args:
        objective: ``objective(params) -> float`` (higher is better).
        space: a :class:`SearchSpace` or a dict of dimensions.
        n_trials: the number of evaluations (including resumed ones).
        population_size: particles in the swarm (default 10).
        inertia: how much of its speed a particle keeps (default 0.7298).
        cognitive: pull towards the particle's own best (default 1.49618).
        social: pull towards the swarm's best (default 1.49618).
        max_speed: the largest step per coordinate, in unit-cube units (default 0.2).
        timeout, seed, checkpoint, resume, overwrite, callbacks, map, n_workers: as in :func:`genetic_search`.

    Returns:
        A :class:`SearchResult`.

    Example:
        >>> result = evolab.search.pso_search(objective, space, n_trials=100, seed=0)

    Introduced in 06_swarms_and_strategies.ipynb.
    """
    space = as_space(space)
    _check_size("population_size", population_size, 2)
    optimizer = ParticleSwarm(space, population_size, inertia, cognitive, social, max_speed, seed=seed)
    search = Search(objective, space, "pso", n_trials=n_trials, timeout=timeout, callbacks=callbacks, map=map,
                    n_workers=n_workers)
    settings = dict(population_size=population_size, inertia=inertia, cognitive=cognitive, social=social,
                    max_speed=max_speed)
    return evolve(search, optimizer, seed=seed, checkpoint=checkpoint, resume=resume, overwrite=overwrite,
                  settings=settings).result()


# --- differential evolution ----------------------------------------------------------------
class DifferentialEvolution:
    """DE/rand/1/bin: each target is challenged by ``a + F (b - c)`` crossed with it; the better one stays.

    DEAP ships DE only as an example script, so this is plain NumPy. A trial
    coordinate that leaves the cube is put halfway between its parent and
    the bound it crossed.
    """

    def __init__(self, space, population_size, differential_weight=0.8, crossover_rate=0.9, seed=None):
        self.space, self.population_size = space, population_size
        self.differential_weight, self.crossover_rate = differential_weight, crossover_rate
        self.rng = np.random.default_rng(seed)
        self.population, self.scores, self._candidates = None, None, None

    def decode(self, genome):
        return self.space.decode(genome)

    def ask(self):
        n, d = self.population_size, len(self.space)
        if self.population is None:
            self._candidates = self.rng.uniform(size=(n, d))
            return list(self._candidates)
        candidates = np.empty((n, d))
        for i in range(n):
            a, b, c = self.population[self.rng.choice([j for j in range(n) if j != i], 3, replace=False)]
            mutant = a + self.differential_weight * (b - c)
            cross = self.rng.uniform(size=d) < self.crossover_rate
            cross[self.rng.integers(d)] = True  # at least one coordinate comes from the mutant
            trial = np.where(cross, mutant, self.population[i])
            trial = np.where(trial < 0, self.population[i] / 2, trial)
            trial = np.where(trial > 1, (self.population[i] + 1) / 2, trial)
            candidates[i] = trial
        self._candidates = candidates
        return list(candidates)

    def tell(self, scores):
        scores = np.nan_to_num(np.asarray(scores, dtype=float), nan=-np.inf)
        if self.population is None:
            self.population, self.scores = self._candidates, scores
            return
        better = scores >= self.scores[: len(scores)]
        index = np.flatnonzero(better)
        self.population[index], self.scores[index] = self._candidates[index], scores[index]


def de_search(objective, space, n_trials=None, *, population_size=10, differential_weight=0.8, crossover_rate=0.9,
              timeout=None, seed=None, checkpoint=None, resume=False, overwrite=False, callbacks=None, map=None, n_workers=None):
    """Differential evolution (DE/rand/1/bin) over the unit cube of the space.

    Args:
        objective: ``objective(params) -> float`` (higher is better).
        space: a :class:`SearchSpace` or a dict of dimensions.
        n_trials: the number of evaluations (including resumed ones).
        population_size: vectors in the population (default 10, at least 4).
        differential_weight: ``F``, the scale of the difference vector (default 0.8).
        crossover_rate: ``CR``, probability a coordinate comes from the mutant (default 0.9).
        timeout, seed, checkpoint, resume, overwrite, callbacks, map, n_workers: as in :func:`genetic_search`.

    Returns:
        A :class:`SearchResult`.

    Example:
        >>> result = evolab.search.de_search(objective, space, n_trials=100, seed=0)

    Introduced in 06_swarms_and_strategies.ipynb.
    """
    space = as_space(space)
    _check_size("population_size", population_size, 4)
    _check_rate("crossover_rate", crossover_rate)
    optimizer = DifferentialEvolution(space, population_size, differential_weight, crossover_rate, seed=seed)
    search = Search(objective, space, "de", n_trials=n_trials, timeout=timeout, callbacks=callbacks, map=map,
                    n_workers=n_workers)
    settings = dict(population_size=population_size, differential_weight=differential_weight,
                    crossover_rate=crossover_rate)
    return evolve(search, optimizer, seed=seed, checkpoint=checkpoint, resume=resume, overwrite=overwrite,
                  settings=settings).result()


# --- CMA-ES -----------------------------------------------------------------------------------
class CMAES:
    """DEAP's CMA-ES (``deap.cma.Strategy``) as ask/tell; samples are clipped into the unit cube."""

    def __init__(self, space, population_size=None, sigma=0.3):
        from deap import cma

        options = {} if population_size is None else {"lambda_": population_size}
        self.space = space
        self.strategy = cma.Strategy(centroid=[0.5] * len(space), sigma=sigma, **options)
        self._population = None

    def decode(self, genome):
        return self.space.decode(genome)

    def ask(self):
        self._population = self.strategy.generate(_Individual)
        for ind in self._population:
            ind[:] = np.clip(ind, 0.0, 1.0)
        return [list(ind) for ind in self._population]

    def tell(self, scores):
        for ind, score in zip(self._population, scores):
            ind.fitness.values = _fitness(score)
        self.strategy.update(self._population)


def cmaes_search(objective, space, n_trials=None, *, population_size=None, sigma=0.3, timeout=None, seed=None,
                 checkpoint=None, resume=False, overwrite=False, callbacks=None, map=None, n_workers=None):
    """CMA-ES (DEAP's ``cma.Strategy``): a Gaussian that learns where and how to sample.

    Args:
        objective: ``objective(params) -> float`` (higher is better).
        space: a :class:`SearchSpace` or a dict of dimensions.
        n_trials: the number of evaluations (including resumed ones).
        population_size: samples per generation (default ``4 + 3 ln d``, DEAP's choice).
        sigma: the initial step size in unit-cube units (default 0.3).
        timeout, seed, checkpoint, resume, overwrite, callbacks, map, n_workers: as in :func:`genetic_search`.

    Returns:
        A :class:`SearchResult`.

    Example:
        >>> result = evolab.search.cmaes_search(objective, space, n_trials=100, seed=0)

    Introduced in 06_swarms_and_strategies.ipynb.
    """
    space = as_space(space)
    if population_size is not None:
        _check_size("population_size", population_size, 2)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not math.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a positive finite number; received {sigma!r}")
    search = Search(objective, space, "cmaes", n_trials=n_trials, timeout=timeout, callbacks=callbacks, map=map,
                    n_workers=n_workers)
    optimizer = CMAES(space, population_size, sigma)
    settings = dict(population_size=population_size, sigma=sigma)
    return evolve(search, optimizer, seed=seed, checkpoint=checkpoint, resume=resume, overwrite=overwrite,
                  settings=settings).result()
