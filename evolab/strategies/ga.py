"""A genetic algorithm over a population array: selection, crossover, mutation, elitism.

Introduced in 10_neuroevolution_at_scale.ipynb.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_choice, check_fraction, check_int, check_positive, is_real
from .base import Strategy

__all__ = ["SimpleGA"]


class SimpleGA(Strategy):
    """A genetic algorithm over a population array.

    Each generation keeps the ``num_elites`` best individuals unchanged and
    fills the other rows with children: two parents are selected (tournament
    or truncation), crossed over with probability ``crossover_rate``, then
    each gene is mutated with probability ``mutation_rate`` by adding
    Gaussian noise of standard deviation ``mutation_sigma``. The first
    population is ``center`` (kept once, unperturbed, in row 0) plus Gaussian
    noise of standard deviation ``initial_spread``. The same ideas as DEAP's
    ``eaSimple`` with elitism, on one array instead of a list of individuals.

    Args:
        num_params: Length of one individual.
        population_size: Individuals per generation (at least 2).
        center: Initial individual; defaults to `None` (zeros).
        seed: Random seed; defaults to `None`.
        selection: `"tournament"` (default) or `"truncation"`.
        tournament_size: Contestants per tournament; defaults to 3.
        truncation_fraction: With truncation selection, parents are drawn
            uniformly from this best fraction of the population; defaults to
            0.2.
        num_elites: Best individuals copied unchanged to the next
            generation; defaults to 1.
        crossover: `"uniform"` (default: each gene from either parent),
            `"blend"` (BLX-alpha: each gene uniformly in the parents' range
            widened by ``blend_alpha`` times its width on both sides), or
            `None`.
        crossover_rate: Probability that a child is made by crossover rather
            than copied from its first parent; defaults to 0.5.
        blend_alpha: The alpha of BLX-alpha; defaults to 0.5.
        mutation_rate: Per-gene probability of mutation; defaults to 0.1.
        mutation_sigma: Standard deviation of the mutation noise; defaults
            to 0.05 (suits network weights of a Glorot-initialised model).
        initial_spread: Standard deviation of the first population around
            ``center``; defaults to `None` (the same as ``mutation_sigma``).

    Example:
        >>> ga = SimpleGA(num_params=5, population_size=8, seed=0)
        >>> population = ga.ask()
        >>> ga.tell(-np.sum(population**2, axis=1))
        >>> ga.center.shape
        (5,)

    Introduced in 10_neuroevolution_at_scale.ipynb.
    """

    name = "ga"
    _min_population_size = 2
    _state_names = ("population", "fitness")
    _renamed = {
        "init_sigma": "initial_spread",
        "sigma": "mutation_sigma (the mutation step) or initial_spread (the first population's spread)",
        "learning_rate": "nothing: a genetic algorithm takes no gradient step (see mutation_rate, mutation_sigma)",
    }

    def __init__(self, num_params, population_size, *, center=None, seed=None, selection="tournament",
                 tournament_size=3, truncation_fraction=0.2, num_elites=1, crossover="uniform",
                 crossover_rate=0.5, blend_alpha=0.5, mutation_rate=0.1, mutation_sigma=0.05, initial_spread=None):
        super().__init__(num_params, population_size, center=center, seed=seed)
        check_choice("selection", selection, ("tournament", "truncation"))
        check_choice("crossover", crossover, ("uniform", "blend", None))
        self.selection, self.crossover = selection, crossover
        self.tournament_size = check_int("tournament_size", tournament_size, 1)
        if not is_real(truncation_fraction) or not 0 < truncation_fraction <= 1:
            raise ValueError("Expected truncation_fraction to be a number in (0, 1], "
                             f"received {truncation_fraction!r}.")
        self.truncation_fraction = float(truncation_fraction)
        self.num_elites = check_int(f"num_elites (population_size={population_size})", num_elites, 0,
                                     population_size)
        self.crossover_rate = check_fraction("crossover_rate", crossover_rate)
        self.mutation_rate = check_fraction("mutation_rate", mutation_rate)
        self.blend_alpha = check_positive("blend_alpha", blend_alpha, allow_zero=True)
        self.mutation_sigma = check_positive("mutation_sigma", mutation_sigma, allow_zero=True)
        self.initial_spread = None if initial_spread is None else check_positive(
            "initial_spread", initial_spread, allow_zero=True)
        self.population = None  # the population being (or last) evaluated
        self.fitness = None  # its scores, once told

    @property
    def center(self):
        """The best individual seen so far (the initial center before any tell).

        With a noisy fitness (a fresh mini-batch every generation) this is the
        individual with the luckiest score; pick your final network on a
        validation set, as :func:`evolab.neuroevolve` does.
        """
        return self.best_solution.copy()

    def _population(self):
        return self.population.copy()

    def _member(self, index):
        return self.population[index].copy()

    def _sample(self):
        if self.population is None:  # first generation: center plus noise
            spread = self.mutation_sigma if self.initial_spread is None else self.initial_spread
            noise = self._rng.standard_normal((self.population_size, self.num_params), dtype=np.float32)
            noise[0] = 0.0
            self.population = noise * np.float32(spread) + self._initial_center
            return
        if self.fitness is None:  # the last generation's scores were all NaN: nothing to select by, ask it again
            return
        order = np.argsort(-self.fitness, kind="stable")  # best first
        num_children = self.population_size - self.num_elites
        parents = self._select(order, num_children)
        next_population = np.empty_like(self.population)
        next_population[: self.num_elites] = self.population[order[: self.num_elites]]
        children = next_population[self.num_elites :]  # a view: filled in place
        np.take(self.population, parents, axis=0, out=children)
        if self.crossover is not None:
            # the first num_crossed children (random parents, so any rows will do) get a partner
            num_crossed = self._rng.binomial(num_children, self.crossover_rate)
            partners = self.population[self._select(order, num_crossed)]
            self._cross(children[:num_crossed], partners)
        self._mutate(children)
        self.population = next_population
        self.fitness = None

    def _select(self, order, count):
        """Indices of ``count`` parents (rows of the current population)."""
        if self.selection == "tournament":
            contestants = self._rng.integers(0, self.population_size, (count, self.tournament_size))
            winners = np.argmax(self.fitness[contestants], axis=1)
            return contestants[np.arange(count), winners]
        pool = order[: max(1, round(self.truncation_fraction * self.population_size))]
        return pool[self._rng.integers(0, pool.size, count)]

    def _cross(self, children, partners):
        """Crosses ``children`` (in place) with ``partners``, row by row."""
        if self.crossover == "uniform":  # each gene from either parent
            take_partner = self._rng.integers(0, 2, children.shape, dtype=bool)
            np.copyto(children, partners, where=take_partner)
        else:  # BLX-alpha: child = a + gamma * (b - a), gamma ~ U(-alpha, 1 + alpha) per gene
            gamma = self._rng.random(children.shape, dtype=np.float32)
            gamma *= np.float32(1 + 2 * self.blend_alpha)
            gamma -= np.float32(self.blend_alpha)
            partners -= children
            partners *= gamma
            children += partners

    def _mutate(self, children):
        """Adds N(0, mutation_sigma^2) noise to each gene with probability mutation_rate."""
        sigma = np.float32(self.mutation_sigma)
        if self.mutation_rate >= 1.0:
            children += sigma * self._rng.standard_normal(children.shape, dtype=np.float32)
            return
        if self.mutation_rate <= 0.0 or children.size == 0:
            return
        # Which genes mutate: instead of one coin flip per gene, draw the gaps
        # between mutated genes, which follow a geometric distribution (same
        # result, far fewer random numbers when mutation_rate is small).
        expected = children.size * self.mutation_rate
        gaps = self._rng.geometric(self.mutation_rate, size=int(expected + 6 * math.sqrt(expected)) + 16)
        while gaps.sum() < children.size:  # (practically never) not enough gaps drawn
            gaps = np.concatenate([gaps, self._rng.geometric(self.mutation_rate, size=gaps.size)])
        positions = np.cumsum(gaps) - 1
        mutated = positions[positions < children.size]
        noise = self._rng.standard_normal(mutated.size, dtype=np.float32)
        children.reshape(-1)[mutated] += sigma * noise

    def _update(self, fitness):
        self.fitness = fitness  # the next _sample() selects parents by it
