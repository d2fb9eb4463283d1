"""PGPE: policy gradients with parameter-based exploration, one learned sigma per parameter.

Sehnke, Osendorfer, Rückstieß, Graves, Peters and Schmidhuber,
"Parameter-exploring policy gradients" (2010); the centered-rank, Adam and
ClipUp details follow EvoJAX and Toklu et al. (2020).

Introduced in 10_neuroevolution_at_scale.ipynb.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_choice, check_positive
from .base import GaussianStrategy
from .optimizers import get_optimizer
from .shaping import FITNESS_SHAPINGS

__all__ = ["PGPE"]


class PGPE(GaussianStrategy):
    """Policy gradients with parameter-based exploration, as in EvoJAX.

    Like :class:`OpenAIES` it samples mirrored pairs around a center, but
    every parameter has its own standard deviation (:attr:`current_sigma`,
    starting at ``sigma``), and those are learned too: a parameter whose
    wider samples scored better gets a wider sigma. The center moves with the
    optimizer (Adam by default, or ClipUp) along the estimated gradient; each
    sigma moves by ``sigma_learning_rate`` times its own gradient, clipped to
    change by at most ``sigma_max_change`` (a fraction) per step.

    Args:
        num_params: Length of one candidate.
        population_size: Candidates per generation (even, at least 2).
        center: Initial center; defaults to `None` (zeros).
        seed: Random seed; defaults to `None`.
        sigma: Initial standard deviation of every parameter; defaults to
            0.05.
        learning_rate: Step size of the center's optimizer; defaults to 0.02.
        sigma_learning_rate: Step size of the sigma update; defaults to 0.1.
        sigma_max_change: Largest relative change of a sigma per generation;
            defaults to 0.2.
        optimizer: `"adam"` (default), `"clipup"` (normalized gradient with
            momentum and a speed limit), `"sgd"`, or an optimizer object
            such as ``evolab.strategies.ClipUp(momentum=0.9, max_speed=0.1)``.
        fitness_shaping: `"centered_ranks"` (default), `"normalized"` or
            `"raw"`.

    Example:
        >>> pgpe = PGPE(num_params=10, population_size=20, sigma=0.1, learning_rate=0.05, seed=0)
        >>> population = pgpe.ask()
        >>> pgpe.tell(-np.sum(population**2, axis=1))

    Introduced in 10_neuroevolution_at_scale.ipynb.
    """

    name = "pgpe"
    _min_population_size = 2
    _even_population = True
    _state_names = ("mean", "current_sigma", "_noise")

    def __init__(self, num_params, population_size, *, center=None, seed=None, sigma=0.05, learning_rate=0.02,
                 sigma_learning_rate=0.1, sigma_max_change=0.2, optimizer="adam",
                 fitness_shaping="centered_ranks"):
        super().__init__(num_params, population_size, center=center, seed=seed)
        self.sigma = check_positive("sigma", sigma)
        self.learning_rate = check_positive("learning_rate", learning_rate)
        self.sigma_learning_rate = check_positive("sigma_learning_rate", sigma_learning_rate, allow_zero=True)
        self.sigma_max_change = check_positive("sigma_max_change", sigma_max_change, allow_zero=True)
        self.optimizer = get_optimizer(optimizer)
        check_choice("fitness_shaping", fitness_shaping, [k for k in FITNESS_SHAPINGS if k != "rank_utilities"])
        self.fitness_shaping = fitness_shaping
        self.current_sigma = np.full(num_params, self.sigma, dtype=np.float32)

    def _update(self, utilities):
        half = self.population_size // 2
        sigma = self.current_sigma
        # With offsets sigma * noise_j (EvoJAX's "scaled noises"):
        # center: each pair's utility difference pulls toward its better side,
        #   mean_j (u+_j - u-_j) / 2 * sigma * noise_j
        center_gradient = sigma * (self._pair_differences(utilities) @ self._noise) / np.float32(2 * half)
        # sigma: pairs that beat the average favour their own spread,
        #   mean_j advantage_j * ((sigma * noise_j)^2 - sigma^2) / sigma
        #   = sigma * mean_j advantage_j * (noise_j^2 - 1)
        pair_means = (utilities[:half] + utilities[half:]) / 2
        advantage = (pair_means - utilities.mean()).astype(np.float32)
        noise_moment = advantage @ np.square(self._noise) - advantage.sum()
        sigma_gradient = sigma * noise_moment / np.float32(half)
        self.mean += self.optimizer.step(center_gradient, self.learning_rate)
        allowed = sigma * np.float32(self.sigma_max_change)
        new_sigma = sigma + np.float32(self.sigma_learning_rate) * sigma_gradient
        self.current_sigma = np.clip(new_sigma, sigma - allowed, sigma + allowed).astype(np.float32)
        self._noise = None
