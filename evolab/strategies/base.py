"""The base classes: what every strategy does the same way.

:class:`Strategy` owns the ask/tell protocol and its bookkeeping, written
once: checking the scores, NaN as the worst score, the best candidate seen so
far, fitness shaping, the generation count and the saved state. A concrete
strategy adds only its own algorithm: ``_sample()`` (make the next
population), ``_population()`` (return it) and ``_update(utilities)`` (learn
from the shaped scores). :class:`GaussianStrategy` adds the mirrored Gaussian
sampling that OpenAI-ES and PGPE share.

Hyperparameters are what you pass to the constructor; they are stored once
and never change during a run. State is everything that does change (a
mean, per-parameter sigmas, optimizer moments, the random generator); it is
what :meth:`Strategy.state_dict` saves and :meth:`Strategy.load_state_dict`
restores.

Introduced in 10_neuroevolution_at_scale.ipynb.
"""

from __future__ import annotations

import copy
import inspect

import numpy as np

from .._checks import check_int
from .schedules import describe
from .shaping import shape_fitness

__all__ = ["Strategy", "GaussianStrategy"]

_RUN_ARGUMENTS = ("self", "num_params", "population_size", "center", "seed")


def hyperparameter_names(cls):
    """The keyword hyperparameters of a strategy class's constructor (what ``get_strategy`` accepts)."""
    return [p for p in inspect.signature(cls.__init__).parameters if p not in _RUN_ARGUMENTS]


def refuse_renamed(cls, names):
    """Raises ValueError for a hyperparameter name of an older evolab, naming the one that replaced it."""
    old = [name for name in names if name in cls._renamed]
    if old:
        hints = "; ".join(f"{name} -> {cls._renamed[name]}" for name in old)
        raise ValueError(f"{cls.__name__} does not take {old}: {hints}. Every evolution strategy says `sigma` "
                         "for its (initial) noise scale and `learning_rate` for the center's step size.")


class Strategy:
    """Base class of the ask/tell strategies.

    Args:
        num_params: Length of one candidate (for a network: its number of
            trainable weights). Must be a positive int.
        population_size: Number of candidates per generation (rows of
            :meth:`ask`). Must be a positive int (even for mirrored sampling).
        center: Initial mean / initial candidate, a 1-D array of length
            ``num_params`` (for example ``evolab.get_parameters(model)``).
            Defaults to `None`: all zeros.
        seed: Seed of the strategy's own ``numpy.random.Generator``.
            Defaults to `None` (fresh entropy, not reproducible).

    Attributes:
        name: The registry name (``"ga"``, ``"openai_es"``, ...).
        generation: Number of completed :meth:`tell` calls.
        best_solution, best_fitness: The best candidate told so far and its
            score (``-inf`` before the first tell). With a noisy fitness (a
            fresh mini-batch each generation) it is the luckiest candidate;
            choose a final network on a validation split instead.

    Introduced in 10_neuroevolution_at_scale.ipynb.
    """

    name = "strategy"
    fitness_shaping = None  # a key of FITNESS_SHAPINGS, or None: _update receives the scores themselves
    _state_names: tuple = ()  # attributes that change during a run (saved by state_dict)
    _renamed: dict = {}  # old keyword -> what replaced it
    _min_population_size = 1
    _even_population = False

    def __new__(cls, *args, **kwargs):
        refuse_renamed(cls, kwargs)
        return super().__new__(cls)

    def __init__(self, num_params, population_size, *, center=None, seed=None):
        self.num_params = check_int("num_params", num_params, 1)
        self.population_size = check_int(f"population_size for {type(self).__name__}", population_size,
                                          self._min_population_size)
        if self._even_population and population_size % 2:
            raise ValueError(f"{type(self).__name__} samples mirrored pairs (x + noise, x - noise), so "
                             f"population_size must be even; received {population_size}.")
        if center is None:
            center = np.zeros(self.num_params, dtype=np.float32)
        center = np.array(center, dtype=np.float32)  # always a private copy
        if center.shape != (self.num_params,):
            raise ValueError(f"Expected center to be a 1-D array of shape ({self.num_params},), "
                             f"received shape {center.shape}.")
        if not np.all(np.isfinite(center)):
            raise ValueError("Expected center to hold only finite numbers, received NaN or inf.")
        self._initial_center = center
        self._rng = np.random.default_rng(seed)
        self.generation = 0
        self._asked = False
        self.best_solution = center.copy()
        self.best_fitness = -np.inf

    # -- the public protocol -------------------------------------------------

    def ask(self):
        """Proposes the next population.

        Calling ``ask()`` again before :meth:`tell` returns the same
        population (it is not resampled).

        Returns:
            A new float32 array of shape ``(population_size, num_params)``.
        """
        if not self._asked:
            self._sample()
            self._asked = True
        return self._population()

    def tell(self, fitness):
        """Updates the strategy with the scores of the last :meth:`ask`.

        The steps, the same for every strategy: check the scores, count NaN
        as the worst score, remember the best candidate so far, shape the
        scores (``fitness_shaping``), and hand them to the algorithm's own
        update. A generation whose every score is NaN teaches nothing: the
        strategy stays where it is (and draws new candidates next time).

        Args:
            fitness: Array-like of shape ``(population_size,)``, one score per
                row of the population, higher is better. NaN counts as the
                worst possible score.
        """
        fitness = self._checked_fitness(fitness, "tell")
        best = int(np.argmax(fitness))
        if fitness[best] > self.best_fitness:
            self.best_fitness, self.best_solution = float(fitness[best]), self._member(best)
        if np.any(fitness > -np.inf):  # every score NaN (or -inf): nothing to learn from, so nothing moves
            self._update(self._shaped(fitness))
        self._asked = False
        self.generation += 1

    @property
    def center(self):
        """The strategy's current best guess, a 1-D float32 array (a copy)."""
        raise NotImplementedError

    @property
    def hyperparameters(self):
        """The keyword hyperparameters the strategy was built with (a dict; they never change during a run)."""
        return {name: getattr(self, name) for name in hyperparameter_names(type(self))}

    def state_dict(self):
        """Everything that changes during a run, for an exact resume: arrays, counters and RNG state.

        The dict holds only NumPy arrays, numbers, strings and dicts, so it
        can be pickled (evolab's checkpoints do that). A pending population
        (``ask()`` without ``tell()``) is saved too. The hyperparameters are
        recorded as text, so that :meth:`load_state_dict` can check them.

        Returns:
            A dict; pass it to :meth:`load_state_dict`.
        """
        state = {
            "name": self.name, "num_params": self.num_params, "population_size": self.population_size,
            "hyperparameters": {key: describe(value) for key, value in self.hyperparameters.items()},
            "generation": self.generation, "asked": self._asked,
            "rng_state": copy.deepcopy(self._rng.bit_generator.state),
            "best_solution": self.best_solution.copy(), "best_fitness": self.best_fitness,
        }
        if hasattr(self, "optimizer"):
            state["optimizer_state"] = self.optimizer.state_dict()
        for key in self._state_names:
            state[key] = copy.deepcopy(getattr(self, key))
        return state

    def load_state_dict(self, state):
        """Restores a state saved by :meth:`state_dict`.

        Only state is restored; hyperparameters stay as this strategy was
        built, and must equal the saved ones.

        Args:
            state: The dict returned by :meth:`state_dict` (possibly after a
                pickle round trip) of a strategy of the same kind and size.

        Raises:
            ValueError: the state belongs to another kind or size of
                strategy, or was saved with other hyperparameters (named).
        """
        expected = (self.name, self.num_params, self.population_size)
        received = (state.get("name"), state.get("num_params"), state.get("population_size"))
        if received != expected:
            raise ValueError(f"Expected a state of (name, num_params, population_size) = {expected}, "
                             f"received {received}.")
        mine = {key: describe(value) for key, value in self.hyperparameters.items()}
        saved = state.get("hyperparameters", {})
        differ = sorted(key for key in set(mine) | set(saved) if mine.get(key) != saved.get(key))
        if differ:
            details = ", ".join(f"{key}: saved {saved.get(key)}, here {mine.get(key)}" for key in differ)
            raise ValueError(f"The state was saved by a {type(self).__name__} with other hyperparameters "
                             f"({details}); build the strategy with the saved ones to resume it.")
        for key in self._state_names:
            setattr(self, key, copy.deepcopy(state[key]))
        if hasattr(self, "optimizer"):
            self.optimizer.load_state_dict(state["optimizer_state"])
        self.generation, self._asked = int(state["generation"]), bool(state["asked"])
        self._rng.bit_generator.state = copy.deepcopy(state["rng_state"])
        self.best_solution, self.best_fitness = state["best_solution"].copy(), float(state["best_fitness"])

    def __repr__(self):
        options = ", ".join(f"{key}={describe(value)}" for key, value in self.hyperparameters.items())
        return f"{type(self).__name__}(num_params={self.num_params}, population_size={self.population_size}, {options})"

    # -- shared steps of tell() ---------------------------------------------------

    def _checked_fitness(self, fitness, caller):
        """The pending population's scores as float64, NaN replaced by -inf (the worst)."""
        if not self._asked:
            raise RuntimeError(f"{type(self).__name__}.{caller}() was called without a pending ask(): "
                               "call ask(), evaluate its population, then tell() the scores.")
        fitness = np.asarray(fitness)
        if fitness.dtype.kind not in "biuf":  # strings, None, complex numbers: not scores
            raise TypeError(f"Expected fitness to hold numbers (one score per row of ask()), received an array "
                            f"of dtype {fitness.dtype} starting {fitness.ravel()[:3].tolist()!r}.")
        fitness = fitness.astype(np.float64)
        if fitness.shape != (self.population_size,):
            raise ValueError(f"Expected fitness of shape ({self.population_size},) (one score per row of "
                             f"ask()), received shape {fitness.shape}.")
        return np.where(np.isnan(fitness), -np.inf, fitness)

    def _shaped(self, fitness):
        return fitness if self.fitness_shaping is None else shape_fitness(fitness, self.fitness_shaping)

    def _member(self, index):
        """Row ``index`` of the pending population (subclasses may build it without the whole array)."""
        return self._population()[index]

    # -- what subclasses provide ----------------------------------------------

    def _sample(self):
        raise NotImplementedError

    def _population(self):
        raise NotImplementedError

    def _update(self, utilities):
        raise NotImplementedError


class GaussianStrategy(Strategy):
    """Shared parts of the Gaussian strategies: a mean, a noise scale, (mirrored) Gaussian samples.

    ``_noise`` holds standard-normal noise of shape (rows, num_params). With
    mirrored sampling (``_mirrored``) rows ``i`` and ``i + population_size // 2``
    of the population are ``mean + current_sigma * noise[i]`` and
    ``mean - current_sigma * noise[i]``. Subclasses provide ``current_sigma``
    (a number, or one per parameter).
    """

    _mirrored = True
    _renamed = {
        "init_sigma": "sigma (the initial noise scale)",
        "center_learning_rate": "learning_rate",
        "sigma_decay": "sigma_schedule=evolab.strategies.decay(rate, floor=...)",
        "sigma_limit": "sigma_schedule=evolab.strategies.decay(rate, floor=...)",
        "learning_rate_decay": "learning_rate_schedule=evolab.strategies.decay(rate, floor=...)",
        "learning_rate_limit": "learning_rate_schedule=evolab.strategies.decay(rate, floor=...)",
        "beta1": "optimizer=evolab.strategies.Adam(beta1=..., beta2=...)",
        "beta2": "optimizer=evolab.strategies.Adam(beta1=..., beta2=...)",
        "momentum": "optimizer=evolab.strategies.ClipUp(momentum=..., max_speed=...)",
        "max_speed": "optimizer=evolab.strategies.ClipUp(momentum=..., max_speed=...)",
    }

    def __init__(self, num_params, population_size, *, center=None, seed=None):
        super().__init__(num_params, population_size, center=center, seed=seed)
        self.mean = self._initial_center.copy()
        self._noise = None

    @property
    def center(self):
        """The mean of the search distribution (a copy)."""
        return self.mean.copy()

    def _sample(self):
        rows = self.population_size // 2 if self._mirrored else self.population_size
        self._noise = self._rng.standard_normal((rows, self.num_params), dtype=np.float32)

    def _population(self):
        rows = self._noise.shape[0]
        population = np.empty((self.population_size, self.num_params), dtype=np.float32)
        np.multiply(self._noise, np.float32(self.current_sigma) if np.isscalar(self.current_sigma)
                    else self.current_sigma, out=population[:rows])
        if self._mirrored:
            np.negative(population[:rows], out=population[rows:])
        population += self.mean
        return population

    def _member(self, index):
        rows = self._noise.shape[0]
        sigma = np.float32(self.current_sigma) if np.isscalar(self.current_sigma) else self.current_sigma
        offset = self._noise[index % rows] * sigma
        return (-offset if index >= rows else offset) + self.mean

    def _pair_differences(self, utilities):
        """``u_plus - u_minus`` for each mirrored pair, as float32."""
        half = self.population_size // 2
        return (utilities[:half] - utilities[half:]).astype(np.float32)

