"""OpenAI-ES: mirrored Gaussian samples estimate the gradient, an optimizer follows it.

Salimans, Ho, Chen, Sidor and Sutskever, "Evolution Strategies as a Scalable
Alternative to Reinforcement Learning" (2017).

Introduced in 10_neuroevolution_at_scale.ipynb.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_choice, check_positive
from .base import GaussianStrategy
from .optimizers import get_optimizer
from .schedules import Scheduled, check_schedule
from .shaping import FITNESS_SHAPINGS

__all__ = ["OpenAIES", "NOISE_TABLE_SIZE"]

NOISE_TABLE_SIZE = 2**24  # 64 MiB of float32 noise (Salimans et al. used 250 million numbers shared by all workers)


class OpenAIES(Scheduled, GaussianStrategy):
    """The evolution strategy of Salimans et al. (2017), "OpenAI-ES".

    The population is ``mean +/- sigma * noise`` (mirrored pairs: rows ``i``
    and ``i + population_size // 2``). The scores, shaped into centered
    ranks, weight the noise into an estimate of the gradient of the expected
    fitness at the mean, ``sum_i F_i * noise_i / (population_size * sigma)``,
    and the optimizer (Adam by default) takes a step up that gradient.

    Args:
        num_params: Length of one candidate.
        population_size: Candidates per generation (even, at least 2).
        center: Initial mean; defaults to `None` (zeros).
        seed: Random seed; defaults to `None`.
        sigma: Standard deviation of the exploration noise; defaults to 0.03.
        learning_rate: Step size of the mean; defaults to 0.02.
        optimizer: `"adam"` (default), `"sgd"`, `"clipup"`, or an
            optimizer object with its own options, such as
            ``evolab.strategies.Adam(beta1=0.8)``.
        weight_decay: Decoupled L2 penalty on the mean (AdamW style): every
            generation the mean also shrinks by ``learning_rate *
            weight_decay * mean``. Defaults to 0.0.
        sigma_schedule: `None` (default: constant) or a schedule such as
            ``evolab.strategies.decay(0.99, floor=0.01)``; the noise scale in
            use is :attr:`current_sigma`.
        learning_rate_schedule: The same for the learning rate
            (:attr:`current_learning_rate`).
        fitness_shaping: `"centered_ranks"` (default), `"normalized"`
            (z-scores) or `"raw"` (the scores themselves: then
            :meth:`gradient_estimate` estimates the true gradient).
        noise: `"fresh"` (default): new Gaussian noise every generation,
            drawn with NumPy. `"table"`: the shared noise table of Salimans
            et al. (one block of Gaussian noise, :data:`NOISE_TABLE_SIZE`
            numbers or twice ``num_params`` if more, drawn once from the
            seed; member ``i`` of generation ``g`` reads the slice of
            ``num_params`` numbers that starts at an offset drawn from
            ``(seed, g)``). The noise is then never drawn again nor stored,
            and :class:`CompiledGeneration` can run the whole generation on
            the backend (``evolab.neuroevolve`` does so by itself).

    Example:
        >>> es = OpenAIES(num_params=10, population_size=20, sigma=0.1, learning_rate=0.05, seed=0)
        >>> for _ in range(5):
        ...     population = es.ask()
        ...     es.tell(-np.sum((population - 1.0) ** 2, axis=1))

    Introduced in 10_neuroevolution_at_scale.ipynb.
    """

    name = "openai_es"
    _min_population_size = 2
    _even_population = True
    _state_names = ("mean", "_noise", "noise_seed")

    def __init__(self, num_params, population_size, *, center=None, seed=None, sigma=0.03, learning_rate=0.02,
                 optimizer="adam", weight_decay=0.0, sigma_schedule=None, learning_rate_schedule=None,
                 fitness_shaping="centered_ranks", noise="fresh"):
        super().__init__(num_params, population_size, center=center, seed=seed)
        self.sigma = check_positive("sigma", sigma)
        self.learning_rate = check_positive("learning_rate", learning_rate)
        self.optimizer = get_optimizer(optimizer)
        self.weight_decay = check_positive("weight_decay", weight_decay, allow_zero=True)
        self.sigma_schedule = check_schedule("sigma_schedule", sigma_schedule)
        self.learning_rate_schedule = check_schedule("learning_rate_schedule", learning_rate_schedule)
        check_choice("fitness_shaping", fitness_shaping, [k for k in FITNESS_SHAPINGS if k != "rank_utilities"])
        self.fitness_shaping = fitness_shaping
        self.noise = check_choice("noise", noise, ["fresh", "table"])
        self.noise_seed = int(self._rng.integers(2**31)) if seed is None else int(seed)
        self._table = None

    # -- the shared noise table (noise="table") ---------------------------------

    @property
    def noise_table(self):
        """The shared noise table (float32, built from the seed on first use; ``noise="table"`` only)."""
        if self._table is None:
            size = max(NOISE_TABLE_SIZE, 2 * self.num_params)
            self._table = np.random.default_rng([self.noise_seed, 1]).standard_normal(size, dtype=np.float32)
        return self._table

    def noise_offsets(self, generation):
        """Where each mirrored pair's noise starts in :attr:`noise_table` at ``generation`` (int32, ``(half,)``)."""
        last = self.noise_table.size - self.num_params
        rng = np.random.default_rng([self.noise_seed, 2, int(generation)])
        return rng.integers(0, last + 1, self.population_size // 2, dtype=np.int64).astype(np.int32)

    def _sample(self):
        if self.noise == "fresh":
            return super()._sample()
        table, n = self.noise_table, self.num_params
        self._noise = np.stack([table[o:o + n] for o in self.noise_offsets(self.generation)])

    def gradient_estimate(self, fitness):
        """Estimates the gradient of the fitness at the mean, without updating.

        Uses the population of the pending :meth:`ask`. With
        ``fitness_shaping="raw"`` this estimates the gradient of the expected
        fitness under the sampling noise (for small ``sigma``, the gradient
        of the fitness itself); with ranks its scale is arbitrary but its
        direction is what the update follows.

        Args:
            fitness: Scores of the pending population, shape
                ``(population_size,)``, higher is better.

        Returns:
            A float32 array of shape ``(num_params,)``.
        """
        return self._gradient(self._shaped(self._checked_fitness(fitness, "gradient_estimate")))

    def _gradient(self, utilities):
        # sum_i u_i eps_i over mirrored pairs: (u+ - u-) eps
        gradient = self._pair_differences(utilities) @ self._noise
        return gradient / np.float32(self.population_size * self.current_sigma)

    def _update(self, utilities):
        learning_rate = self.current_learning_rate
        step = self.optimizer.step(self._gradient(utilities), learning_rate)
        if self.weight_decay:
            self.mean *= np.float32(1.0 - learning_rate * self.weight_decay)
        self.mean += step
        self._noise = None
