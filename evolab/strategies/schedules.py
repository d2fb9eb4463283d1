"""Schedules: how a hyperparameter's value changes with the generation.

A schedule is any callable ``schedule(initial, generation) -> value``: it
receives the hyperparameter as the caller set it (``sigma=0.1``) and the
number of completed generations, and returns the value to use now. Because
it depends on nothing else, the strategy stores no decayed copy of the
hyperparameter: ``sigma`` stays what you passed, and the value in use is
recomputed from the generation count (which :meth:`Strategy.state_dict`
saves), so a resumed run picks up exactly where it stopped.

Example::

    OpenAIES(num_params, 64, sigma=0.1, sigma_schedule=decay(0.99, floor=0.02))

Introduced in 10_neuroevolution_at_scale.ipynb.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Decay", "decay", "describe", "check_schedule", "Scheduled"]


class Decay:
    """Exponential decay with a floor: ``max(initial * rate**generation, floor)``.

    Args:
        rate: the factor per generation, in (0, 1] (1: constant).
        floor: the value never goes below this; defaults to 0.0.
    """

    def __init__(self, rate, floor=0.0):
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.number)) or not 0.0 < rate <= 1.0:
            raise ValueError(f"Expected the decay rate to be a number in (0, 1], received {rate!r}.")
        if isinstance(floor, bool) or not isinstance(floor, (int, float, np.number)) or not floor >= 0:
            raise ValueError(f"Expected the decay floor to be a number >= 0, received {floor!r}.")
        self.rate, self.floor = float(rate), float(floor)

    def __call__(self, initial, generation):
        return max(initial * self.rate**generation, self.floor)

    def __eq__(self, other):
        return type(self) is type(other) and (self.rate, self.floor) == (other.rate, other.floor)

    def __repr__(self):
        return f"decay({self.rate!r}, floor={self.floor!r})"


def decay(rate, floor=0.0):
    """A :class:`Decay` schedule: the value shrinks by ``rate`` each generation, never below ``floor``.

    Example:
        >>> schedule = decay(0.5, floor=0.03)
        >>> [schedule(0.1, generation) for generation in range(4)]
        [0.1, 0.05, 0.03, 0.03]
    """
    return Decay(rate, floor)


def describe(value):
    """A stable text for a hyperparameter value (functions by qualified name, not memory address)."""
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '?')}.{value.__qualname__}"
    return repr(value)


def check_schedule(name, schedule):
    if schedule is not None and not callable(schedule):
        raise ValueError(f"Expected {name} to be None or a callable schedule(initial, generation) -> value "
                         f"(e.g. evolab.strategies.decay(0.99, floor=0.01)), received {schedule!r}.")
    return schedule


def scheduled(name, initial, schedule, generation):
    """The value of a hyperparameter at ``generation`` under its schedule (checked: finite and > 0)."""
    if schedule is None:
        return initial
    value = schedule(initial, generation)
    if isinstance(value, bool) or not np.isscalar(value) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"Expected {name}_schedule({initial}, {generation}) to return a finite number > 0, "
                         f"received {value!r}.")
    return float(value)


class Scheduled:
    """For a strategy with ``sigma``, ``learning_rate`` and their schedules: the values in use this generation."""

    @property
    def current_sigma(self):
        """The noise scale of this generation: ``sigma`` under ``sigma_schedule``."""
        return scheduled("sigma", self.sigma, self.sigma_schedule, self.generation)

    @property
    def current_learning_rate(self):
        """The step size of this generation: ``learning_rate`` under ``learning_rate_schedule``."""
        return scheduled("learning_rate", self.learning_rate, self.learning_rate_schedule, self.generation)
