"""SNES: the separable natural evolution strategy.

Schaul, Glasmachers and Schmidhuber, "High dimensions and heavy tails for
natural evolution strategies" (2011).

Introduced in 10_neuroevolution_at_scale.ipynb.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_positive
from .base import GaussianStrategy

__all__ = ["SNES"]


class SNES(GaussianStrategy):
    """Separable natural evolution strategy (Schaul, Glasmachers, Schmidhuber 2011).

    Samples ``mean + current_sigma * s`` with one sigma per parameter
    (starting at ``sigma``), gives the samples fixed utility weights by rank
    (:func:`evolab.strategies.rank_utilities`), then follows the natural
    gradient: the mean by ``learning_rate * current_sigma * sum(u_k s_k)``,
    and each sigma by an exponential (always positive) factor
    ``exp(sigma_learning_rate / 2 * sum(u_k (s_k^2 - 1)))``.

    Args:
        num_params: Length of one candidate.
        population_size: Candidates per generation (at least 2; the
            textbook default is ``4 + floor(3 ln num_params)``).
        center: Initial mean; defaults to `None` (zeros).
        seed: Random seed; defaults to `None`.
        sigma: Initial standard deviation of every parameter; defaults to
            0.05.
        learning_rate: Step size of the mean; defaults to 1.0 (the
            textbook value).
        sigma_learning_rate: Step size of the log-sigmas; defaults to `None`:
            ``(3 + ln num_params) / (5 sqrt(num_params))``.

    Example:
        >>> snes = SNES(num_params=10, population_size=16, sigma=0.5, seed=0)
        >>> population = snes.ask()
        >>> snes.tell(-np.sum(population**2, axis=1))

    Introduced in 10_neuroevolution_at_scale.ipynb.
    """

    name = "snes"
    fitness_shaping = "rank_utilities"
    _mirrored = False
    _min_population_size = 2
    _state_names = ("mean", "current_sigma", "_noise")

    def __init__(self, num_params, population_size, *, center=None, seed=None, sigma=0.05, learning_rate=1.0,
                 sigma_learning_rate=None):
        super().__init__(num_params, population_size, center=center, seed=seed)
        self.sigma = check_positive("sigma", sigma)
        self.learning_rate = check_positive("learning_rate", learning_rate)
        self.sigma_learning_rate = None if sigma_learning_rate is None else check_positive(
            "sigma_learning_rate", sigma_learning_rate, allow_zero=True)
        self.current_sigma = np.full(num_params, self.sigma, dtype=np.float32)

    def _update(self, utilities):
        eta_sigma = self.sigma_learning_rate
        if eta_sigma is None:
            eta_sigma = (3 + math.log(self.num_params)) / (5 * math.sqrt(self.num_params))
        mean_gradient = utilities @ self._noise
        sigma_gradient = utilities @ np.square(self._noise) - utilities.sum()  # sum_k u_k (s_k^2 - 1)
        self.mean += np.float32(self.learning_rate) * self.current_sigma * mean_gradient
        self.current_sigma = self.current_sigma * np.exp(np.float32(eta_sigma / 2) * sigma_gradient)
        self._noise = None
