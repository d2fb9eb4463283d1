"""Ask/tell evolution strategies over whole population arrays.

An evolution strategy never sees the function it optimizes. It only
*proposes* candidates and *hears back* how good they were. That conversation
has two verbs:

* ``ask()`` returns a new population: one NumPy array of shape
  ``(population_size, num_params)``, one candidate (for neuroevolution: one
  complete set of network weights) per row.
* ``tell(fitness)`` hands back one score per row, **higher is better**, and
  the strategy updates its internal state (a mean and a step size, or a
  population of survivors) before the next ``ask()``.

Because the strategy never calls your code, you choose how to evaluate the
population: one row at a time, all rows in one batched Keras pass (what
:class:`evolab.PopulationEvaluator` does), or on many machines. The loop is
always the same::

    strategy = evolab.strategies.get_strategy("openai_es", num_params, 64, seed=0)
    for generation in range(num_generations):
        population = strategy.ask()          # (64, num_params) float32
        fitness = evaluate(population)       # (64,), higher is better
        strategy.tell(fitness)
    best_guess = strategy.center

The same interface is used by evosax and EvoJAX; here it is written in plain
NumPy (float32, no loop over individuals) so that a population of a few
hundred networks with 10^5 weights each fits comfortably in memory.

Four strategies are included, each also selectable by name:

* ``"ga"``: :class:`SimpleGA`, a genetic algorithm (selection, crossover,
  Gaussian mutation, elitism), the same ideas as DEAP's ``eaSimple``.
* ``"openai_es"``: :class:`OpenAIES`, the evolution strategy of Salimans et
  al. (2017): mirrored Gaussian samples estimate the gradient, Adam follows it.
* ``"pgpe"``: :class:`PGPE`, policy gradients with parameter-based exploration
  as in EvoJAX, which also learns a step size for every parameter.
* ``"snes"``: :class:`SNES`, the separable natural evolution strategy.

Introduced in 10_neuroevolution_at_scale.ipynb.
"""

from __future__ import annotations

import copy
import inspect
import math

import numpy as np

__all__ = [
    "Strategy",
    "SimpleGA",
    "OpenAIES",
    "PGPE",
    "SNES",
    "STRATEGIES",
    "get_strategy",
    "centered_ranks",
    "snes_utilities",
]

_FITNESS_SHAPINGS = ("centered_ranks", "normalized", "raw")


# ---------------------------------------------------------------------------
# Fitness shaping helpers
# ---------------------------------------------------------------------------


def _ranks(values):
    """0-based ranks (lowest value -> 0), ties get their average rank."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts  # rank of the first member of each tie group
    return (first + (counts - 1) / 2.0)[inverse.reshape(-1)]


def centered_ranks(fitness):
    """Replaces scores by their ranks, spread evenly over [-0.5, 0.5].

    The best score becomes 0.5 and the worst -0.5, whatever the raw numbers
    were, so one huge (or NaN) score cannot dominate an update. Tied scores
    share their average rank; NaN counts as the worst score.

    Args:
        fitness: 1-D array-like of scores, higher is better.

    Returns:
        A float32 array of the same length with values in [-0.5, 0.5]
        (all zeros when there is a single score or all scores tie).

    Example:
        >>> centered_ranks([10.0, -3.0, 250.0])
        array([ 0. , -0.5,  0.5], dtype=float32)

    Introduced in 10_neuroevolution_at_scale.ipynb.
    """
    fitness = np.asarray(fitness, dtype=np.float64)
    if fitness.ndim != 1:
        raise ValueError(f"Expected a 1-D array of scores, received shape {fitness.shape}.")
    if fitness.size < 2:
        return np.zeros(fitness.shape, dtype=np.float32)
    fitness = np.where(np.isnan(fitness), -np.inf, fitness)
    return (_ranks(fitness) / (fitness.size - 1) - 0.5).astype(np.float32)


def _finite_fitness(fitness):
    """Replaces -inf (and NaN, already -inf) by the worst finite score, +inf by the best."""
    finite = np.isfinite(fitness)
    if not finite.any():
        return np.zeros_like(fitness)
    low, high = fitness[finite].min(), fitness[finite].max()
    return np.where(fitness == np.inf, high, np.where(finite, fitness, low))


def _shape_fitness(fitness, method):
    """Turns raw scores (NaN already replaced by -inf) into update weights."""
    if method == "centered_ranks":
        return centered_ranks(fitness)
    fitness = _finite_fitness(fitness)
    if method == "normalized":
        spread = fitness.std()
        if spread == 0:
            return np.zeros(fitness.shape, dtype=np.float32)
        return ((fitness - fitness.mean()) / spread).astype(np.float32)
    return fitness.astype(np.float32)  # "raw"


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"Expected {name} to be one of {list(choices)}, received {value!r}.")


def _check_positive(name, value, allow_zero=False):
    if not np.isscalar(value) or not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"Expected {name} to be a finite number {bound}, received {value!r}.")


def _check_fraction(name, value):
    if not np.isscalar(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"Expected {name} to be a number in [0, 1], received {value!r}.")


def _check_decay(name, value):
    if not np.isscalar(value) or not 0.0 <= value < 1.0:
        raise ValueError(f"Expected {name} to be a number in [0, 1), received {value!r}.")


def _hyperparameter_names(cls):
    """The keyword-only hyperparameters of a strategy class's constructor."""
    parameters = inspect.signature(cls.__init__).parameters
    return [p for p in parameters if p not in ("self", "num_params", "population_size", "center", "seed")]


# ---------------------------------------------------------------------------
# The base class: bookkeeping shared by every strategy
# ---------------------------------------------------------------------------


class Strategy:
    """Base class of the ask/tell strategies.

    Subclasses implement ``_sample()`` (make the next population, called by
    :meth:`ask`), ``_population()`` (return it) and ``_update(fitness)``
    (learn from the scores, called by :meth:`tell`), and list in
    ``_state_names`` every attribute that :meth:`state_dict` must save.

    Args:
        num_params: Length of one candidate (for a network: its number of
            trainable weights). Must be a positive int.
        population_size: Number of candidates per generation (rows of
            :meth:`ask`). Must be a positive int (even for mirrored sampling).
        center: Initial mean / initial individual, a 1-D array of length
            ``num_params`` (for example ``evolab.get_parameters(model)``).
            Defaults to `None`: all zeros.
        seed: Seed of the strategy's own ``numpy.random.Generator``.
            Defaults to `None` (fresh entropy, not reproducible).

    Attributes:
        name: The registry name (``"ga"``, ``"openai_es"``, ...).
        generation: Number of completed :meth:`tell` calls.

    Introduced in 10_neuroevolution_at_scale.ipynb.
    """

    name = "strategy"
    _state_names: tuple = ()
    _min_population_size = 1
    _even_population = False

    def __init__(self, num_params, population_size, *, center=None, seed=None):
        if isinstance(num_params, bool) or not isinstance(num_params, (int, np.integer)) or num_params < 1:
            raise ValueError(f"Expected num_params to be a positive int, received {num_params!r}.")
        if (
            isinstance(population_size, bool)
            or not isinstance(population_size, (int, np.integer))
            or population_size < self._min_population_size
        ):
            raise ValueError(
                f"Expected population_size to be an int >= {self._min_population_size} "
                f"for {type(self).__name__}, received {population_size!r}."
            )
        if self._even_population and population_size % 2:
            raise ValueError(
                f"{type(self).__name__} samples mirrored pairs (x + noise, x - noise), so "
                f"population_size must be even; received {population_size}."
            )
        self.num_params = int(num_params)
        self.population_size = int(population_size)
        if center is None:
            center = np.zeros(self.num_params, dtype=np.float32)
        center = np.array(center, dtype=np.float32)  # always a private copy
        if center.shape != (self.num_params,):
            raise ValueError(
                f"Expected center to be a 1-D array of shape ({self.num_params},), "
                f"received shape {center.shape}."
            )
        if not np.all(np.isfinite(center)):
            raise ValueError("Expected center to hold only finite numbers, received NaN or inf.")
        self._initial_center = center
        self._rng = np.random.default_rng(seed)
        self.generation = 0
        self._asked = False

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

        Args:
            fitness: Array-like of shape ``(population_size,)``, one score per
                row of the population, higher is better. NaN counts as the
                worst possible score.
        """
        if not self._asked:
            raise RuntimeError(
                f"{type(self).__name__}.tell() was called without a pending ask(): "
                "call ask(), evaluate its population, then tell() the scores."
            )
        fitness = np.asarray(fitness, dtype=np.float64)
        if fitness.shape != (self.population_size,):
            raise ValueError(
                f"Expected fitness of shape ({self.population_size},) (one score per row of "
                f"ask()), received shape {fitness.shape}."
            )
        fitness = np.where(np.isnan(fitness), -np.inf, fitness)
        self._update(fitness)
        self._asked = False
        self.generation += 1

    @property
    def center(self):
        """The strategy's current best guess, a 1-D float32 array (a copy)."""
        raise NotImplementedError

    @property
    def hyperparameters(self):
        """The strategy's keyword hyperparameters and their current values (a dict)."""
        return {name: getattr(self, name) for name in _hyperparameter_names(type(self))}

    def state_dict(self):
        """Everything needed to resume exactly: arrays, counters and RNG state.

        The dict holds only NumPy arrays, numbers, strings and dicts, so it
        can be pickled (evolab's checkpoints do that). A pending population
        (``ask()`` without ``tell()``) is saved too, so checkpoints taken
        right after ``tell()`` are the smallest.

        Returns:
            A dict; pass it to :meth:`load_state_dict`.
        """
        state = {
            "name": self.name,
            "num_params": self.num_params,
            "population_size": self.population_size,
            "generation": self.generation,
            "asked": self._asked,
            "rng_state": copy.deepcopy(self._rng.bit_generator.state),
            "hyperparameters": dict(self.hyperparameters),
        }
        for key in self._state_names:
            state[key] = copy.deepcopy(getattr(self, key))
        return state

    def load_state_dict(self, state):
        """Restores a state saved by :meth:`state_dict` (hyperparameters included).

        Args:
            state: The dict returned by :meth:`state_dict` (possibly after a
                pickle round trip) of a strategy of the same kind and size.
        """
        expected = (self.name, self.num_params, self.population_size)
        received = (state.get("name"), state.get("num_params"), state.get("population_size"))
        if received != expected:
            raise ValueError(
                "Expected a state of (name, num_params, population_size) = "
                f"{expected}, received {received}."
            )
        for key, value in state["hyperparameters"].items():
            setattr(self, key, value)
        for key in self._state_names:
            setattr(self, key, copy.deepcopy(state[key]))
        self.generation = int(state["generation"])
        self._asked = bool(state["asked"])
        self._rng.bit_generator.state = copy.deepcopy(state["rng_state"])

    def __repr__(self):
        options = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        return (
            f"{type(self).__name__}(num_params={self.num_params}, "
            f"population_size={self.population_size}, {options})"
        )

    # -- what subclasses provide ----------------------------------------------

    def _sample(self):
        raise NotImplementedError

    def _population(self):
        raise NotImplementedError

    def _update(self, fitness):
        raise NotImplementedError


class _GaussianStrategy(Strategy):
    """Shared parts of the Gaussian strategies: a mean, noise, mirrored pairs.

    ``_noise`` holds standard-normal noise of shape (half, num_params). With
    mirrored sampling rows ``i`` and ``i + population_size // 2`` of the
    population are ``mean + sigma * noise[i]`` and ``mean - sigma * noise[i]``.
    """

    _mirrored = True

    def __init__(self, num_params, population_size, *, center=None, seed=None):
        super().__init__(num_params, population_size, center=center, seed=seed)
        self.mean = self._initial_center.copy()
        self._noise = None

    @property
    def center(self):
        return self.mean.copy()

    def _sigma_array(self):
        raise NotImplementedError

    def _sample(self):
        rows = self.population_size // 2 if self._mirrored else self.population_size
        self._noise = self._rng.standard_normal((rows, self.num_params), dtype=np.float32)

    def _population(self):
        rows = self._noise.shape[0]
        population = np.empty((self.population_size, self.num_params), dtype=np.float32)
        np.multiply(self._noise, self._sigma_array(), out=population[:rows])
        if self._mirrored:
            np.negative(population[:rows], out=population[rows:])
        population += self.mean
        return population

    def _pair_scores(self, weights):
        """(w_plus - w_minus) for each mirrored pair, as float32."""
        half = self.population_size // 2
        return (weights[:half] - weights[half:]).astype(np.float32)


def _adam_step(gradient, moments, step, learning_rate, beta1, beta2, epsilon=1e-8):
    """One Adam step for gradient *ascent*; updates ``moments`` (m, v) in place."""
    m, v = moments
    m *= beta1
    m += (1 - beta1) * gradient
    v *= beta2
    v += (1 - beta2) * np.square(gradient)
    m_hat = m / (1 - beta1**step)
    v_hat = v / (1 - beta2**step)
    return (learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)).astype(np.float32)


# ---------------------------------------------------------------------------
# 1. Genetic algorithm
# ---------------------------------------------------------------------------


class SimpleGA(Strategy):
    """A genetic algorithm over a population array.

    Each generation keeps the ``num_elites`` best individuals unchanged and
    fills the other rows with children: two parents are selected (tournament
    or truncation), crossed over with probability ``crossover_rate``, then
    each gene is mutated with probability ``mutation_rate`` by adding
    Gaussian noise of standard deviation ``mutation_sigma``. The first
    population is ``center`` (kept once, unperturbed, in row 0) plus Gaussian
    noise of standard deviation ``init_sigma``.

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
            widened by ``blend_alpha`` on both sides), or `None`.
        crossover_rate: Probability that a child is made by crossover rather
            than copied from its first parent; defaults to 0.5.
        blend_alpha: The alpha of BLX-alpha; defaults to 0.5.
        mutation_rate: Per-gene probability of mutation; defaults to 0.1.
        mutation_sigma: Standard deviation of the mutation noise; defaults
            to 0.05 (suits network weights of a Glorot-initialised model).
        init_sigma: Spread of the first population around ``center``;
            defaults to `None` (same as ``mutation_sigma``).

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
    _state_names = ("population", "fitness", "best", "best_fitness", "_initial_center")

    def __init__(
        self,
        num_params,
        population_size,
        *,
        center=None,
        seed=None,
        selection="tournament",
        tournament_size=3,
        truncation_fraction=0.2,
        num_elites=1,
        crossover="uniform",
        crossover_rate=0.5,
        blend_alpha=0.5,
        mutation_rate=0.1,
        mutation_sigma=0.05,
        init_sigma=None,
    ):
        super().__init__(num_params, population_size, center=center, seed=seed)
        _check_choice("selection", selection, ("tournament", "truncation"))
        _check_choice("crossover", crossover, ("uniform", "blend", None))
        if not isinstance(tournament_size, (int, np.integer)) or tournament_size < 1:
            raise ValueError(f"Expected tournament_size to be an int >= 1, received {tournament_size!r}.")
        if not 0 < truncation_fraction <= 1:
            raise ValueError(
                f"Expected truncation_fraction to be in (0, 1], received {truncation_fraction!r}."
            )
        if not isinstance(num_elites, (int, np.integer)) or not 0 <= num_elites < population_size:
            raise ValueError(
                f"Expected num_elites to be an int in [0, population_size={population_size}), "
                f"received {num_elites!r}."
            )
        _check_fraction("crossover_rate", crossover_rate)
        _check_fraction("mutation_rate", mutation_rate)
        _check_positive("blend_alpha", blend_alpha, allow_zero=True)
        _check_positive("mutation_sigma", mutation_sigma, allow_zero=True)
        if init_sigma is not None:
            _check_positive("init_sigma", init_sigma, allow_zero=True)
        self.selection = selection
        self.tournament_size = int(tournament_size)
        self.truncation_fraction = float(truncation_fraction)
        self.num_elites = int(num_elites)
        self.crossover = crossover
        self.crossover_rate = float(crossover_rate)
        self.blend_alpha = float(blend_alpha)
        self.mutation_rate = float(mutation_rate)
        self.mutation_sigma = float(mutation_sigma)
        self.init_sigma = init_sigma
        self.population = None  # the population being (or last) evaluated
        self.fitness = None  # its scores, once told
        self.best = self._initial_center.copy()
        self.best_fitness = -np.inf

    @property
    def center(self):
        """The best individual seen so far (the initial center before any tell).

        With a noisy fitness (a fresh mini-batch every generation) this is the
        individual with the luckiest score; pick your final network on a
        validation set, as :func:`evolab.neuroevolve` does.
        """
        return self.best.copy()

    def _population(self):
        return self.population.copy()

    def _sample(self):
        if self.population is None:  # first generation: center plus noise
            spread = self.mutation_sigma if self.init_sigma is None else self.init_sigma
            noise = self._rng.standard_normal((self.population_size, self.num_params), dtype=np.float32)
            noise[0] = 0.0
            self.population = noise * np.float32(spread) + self._initial_center
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
        self.fitness = fitness
        best = int(np.argmax(fitness))
        if fitness[best] > self.best_fitness:
            self.best_fitness = float(fitness[best])
            self.best = self.population[best].copy()


# ---------------------------------------------------------------------------
# 2. OpenAI-ES
# ---------------------------------------------------------------------------


class OpenAIES(_GaussianStrategy):
    """The evolution strategy of Salimans et al. (2017), "OpenAI-ES".

    The population is ``mean +/- sigma * noise`` (mirrored pairs: rows ``i``
    and ``i + population_size // 2``). The scores, shaped into centered
    ranks, weight the noise into an estimate of the gradient of the expected
    fitness at the mean, ``sum_i F_i * noise_i / (population_size * sigma)``,
    and Adam takes a step up that gradient.

    Args:
        num_params: Length of one candidate.
        population_size: Candidates per generation (even, at least 2).
        center: Initial mean; defaults to `None` (zeros).
        seed: Random seed; defaults to `None`.
        sigma: Standard deviation of the exploration noise; defaults to 0.03.
        learning_rate: Adam step size; defaults to 0.02.
        beta1: Adam's first-moment decay; defaults to 0.9.
        beta2: Adam's second-moment decay; defaults to 0.999.
        weight_decay: Decoupled L2 penalty on the mean (AdamW style): every
            generation the mean also shrinks by ``learning_rate *
            weight_decay * mean``. Defaults to 0.0.
        sigma_decay: ``sigma`` is multiplied by this after every generation;
            defaults to 1.0 (constant).
        sigma_limit: Lower bound for a decaying ``sigma``; defaults to 0.0.
        learning_rate_decay: ``learning_rate`` is multiplied by this after
            every generation (e.g. 0.999 for a slow annealing); defaults to 1.0.
        learning_rate_limit: Lower bound for a decaying ``learning_rate``;
            defaults to 0.0.
        fitness_shaping: `"centered_ranks"` (default), `"normalized"`
            (z-scores) or `"raw"` (the scores themselves: then
            :meth:`gradient_estimate` estimates the true gradient).

    Example:
        >>> es = OpenAIES(num_params=10, population_size=20, seed=0)
        >>> for _ in range(5):
        ...     population = es.ask()
        ...     es.tell(-np.sum((population - 1.0) ** 2, axis=1))

    Introduced in 10_neuroevolution_at_scale.ipynb.
    """

    name = "openai_es"
    _min_population_size = 2
    _even_population = True
    _state_names = ("mean", "sigma", "_noise", "_adam_m", "_adam_v")

    def __init__(
        self,
        num_params,
        population_size,
        *,
        center=None,
        seed=None,
        sigma=0.03,
        learning_rate=0.02,
        beta1=0.9,
        beta2=0.999,
        weight_decay=0.0,
        sigma_decay=1.0,
        sigma_limit=0.0,
        learning_rate_decay=1.0,
        learning_rate_limit=0.0,
        fitness_shaping="centered_ranks",
    ):
        super().__init__(num_params, population_size, center=center, seed=seed)
        _check_positive("sigma", sigma)
        _check_positive("learning_rate", learning_rate)
        _check_decay("beta1", beta1)
        _check_decay("beta2", beta2)
        _check_positive("weight_decay", weight_decay, allow_zero=True)
        _check_positive("sigma_decay", sigma_decay)
        _check_positive("sigma_limit", sigma_limit, allow_zero=True)
        _check_positive("learning_rate_decay", learning_rate_decay)
        _check_positive("learning_rate_limit", learning_rate_limit, allow_zero=True)
        _check_choice("fitness_shaping", fitness_shaping, _FITNESS_SHAPINGS)
        self.sigma = float(sigma)
        self.learning_rate = float(learning_rate)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.weight_decay = float(weight_decay)
        self.sigma_decay = float(sigma_decay)
        self.sigma_limit = float(sigma_limit)
        self.learning_rate_decay = float(learning_rate_decay)
        self.learning_rate_limit = float(learning_rate_limit)
        self.fitness_shaping = fitness_shaping
        self._adam_m = np.zeros(num_params, dtype=np.float32)
        self._adam_v = np.zeros(num_params, dtype=np.float32)

    def _sigma_array(self):
        return np.float32(self.sigma)

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
        if not self._asked:
            raise RuntimeError("gradient_estimate() needs a pending ask(): call ask() first.")
        fitness = np.asarray(fitness, dtype=np.float64)
        if fitness.shape != (self.population_size,):
            raise ValueError(
                f"Expected fitness of shape ({self.population_size},), received shape {fitness.shape}."
            )
        weights = _shape_fitness(np.where(np.isnan(fitness), -np.inf, fitness), self.fitness_shaping)
        # sum_i F_i eps_i over mirrored pairs: (F+ - F-) eps
        gradient = self._pair_scores(weights) @ self._noise
        return gradient / np.float32(self.population_size * self.sigma)

    def _update(self, fitness):
        gradient = self.gradient_estimate(fitness)
        step = _adam_step(
            gradient,
            (self._adam_m, self._adam_v),
            self.generation + 1,
            self.learning_rate,
            self.beta1,
            self.beta2,
        )
        if self.weight_decay:
            self.mean *= np.float32(1.0 - self.learning_rate * self.weight_decay)
        self.mean += step
        self.sigma = max(self.sigma * self.sigma_decay, self.sigma_limit)
        self.learning_rate = max(self.learning_rate * self.learning_rate_decay, self.learning_rate_limit)
        self._noise = None


# ---------------------------------------------------------------------------
# 3. PGPE
# ---------------------------------------------------------------------------


class PGPE(_GaussianStrategy):
    """Policy gradients with parameter-based exploration, as in EvoJAX.

    Like :class:`OpenAIES` it samples mirrored pairs around a center, but
    every parameter has its own standard deviation, and those are learned
    too: a parameter whose wider samples scored better gets a wider sigma.
    The center moves with Adam (or ClipUp) along the estimated gradient;
    each sigma moves by ``sigma_learning_rate`` times its own gradient,
    clipped to change by at most ``sigma_max_change`` (a fraction) per step.

    Args:
        num_params: Length of one candidate.
        population_size: Candidates per generation (even, at least 2).
        center: Initial center; defaults to `None` (zeros).
        seed: Random seed; defaults to `None`.
        center_learning_rate: Step size of the center's optimizer; defaults
            to 0.02.
        sigma_learning_rate: Step size of the sigma update; defaults to 0.1.
        init_sigma: Initial standard deviation of every parameter; defaults
            to 0.05.
        sigma_max_change: Largest relative change of a sigma per generation;
            defaults to 0.2.
        optimizer: `"adam"` (default) or `"clipup"` (normalized gradient
            with momentum and a speed limit, Toklu et al. 2020).
        beta1: Adam's first-moment decay; defaults to 0.9.
        beta2: Adam's second-moment decay; defaults to 0.999.
        momentum: ClipUp's momentum; defaults to 0.9.
        max_speed: ClipUp's speed limit; defaults to `None` (twice
            ``center_learning_rate``).
        fitness_shaping: `"centered_ranks"` (default), `"normalized"` or
            `"raw"`.

    Example:
        >>> pgpe = PGPE(num_params=10, population_size=20, seed=0)
        >>> population = pgpe.ask()
        >>> pgpe.tell(-np.sum(population**2, axis=1))

    Introduced in 10_neuroevolution_at_scale.ipynb.
    """

    name = "pgpe"
    _min_population_size = 2
    _even_population = True
    _state_names = ("mean", "sigma", "_noise", "_moment1", "_moment2")

    def __init__(
        self,
        num_params,
        population_size,
        *,
        center=None,
        seed=None,
        center_learning_rate=0.02,
        sigma_learning_rate=0.1,
        init_sigma=0.05,
        sigma_max_change=0.2,
        optimizer="adam",
        beta1=0.9,
        beta2=0.999,
        momentum=0.9,
        max_speed=None,
        fitness_shaping="centered_ranks",
    ):
        super().__init__(num_params, population_size, center=center, seed=seed)
        _check_positive("center_learning_rate", center_learning_rate)
        _check_positive("sigma_learning_rate", sigma_learning_rate, allow_zero=True)
        _check_positive("init_sigma", init_sigma)
        _check_positive("sigma_max_change", sigma_max_change, allow_zero=True)
        _check_choice("optimizer", optimizer, ("adam", "clipup"))
        _check_decay("beta1", beta1)
        _check_decay("beta2", beta2)
        _check_decay("momentum", momentum)
        if max_speed is not None:
            _check_positive("max_speed", max_speed)
        _check_choice("fitness_shaping", fitness_shaping, _FITNESS_SHAPINGS)
        self.center_learning_rate = float(center_learning_rate)
        self.sigma_learning_rate = float(sigma_learning_rate)
        self.init_sigma = float(init_sigma)
        self.sigma_max_change = float(sigma_max_change)
        self.optimizer = optimizer
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.momentum = float(momentum)
        self.max_speed = max_speed
        self.fitness_shaping = fitness_shaping
        self.sigma = np.full(num_params, self.init_sigma, dtype=np.float32)
        self._moment1 = np.zeros(num_params, dtype=np.float32)  # Adam m / ClipUp velocity
        self._moment2 = np.zeros(num_params, dtype=np.float32)  # Adam v

    def _sigma_array(self):
        return self.sigma

    def _update(self, fitness):
        weights = _shape_fitness(fitness, self.fitness_shaping)
        half = self.population_size // 2
        # With offsets sigma * noise_j (EvoJAX's "scaled noises"):
        # center: each pair's score difference pulls toward its better side,
        #   mean_j (w+_j - w-_j) / 2 * sigma * noise_j
        center_gradient = self.sigma * (self._pair_scores(weights) @ self._noise) / np.float32(2 * half)
        # sigma: pairs that beat the average favour their own spread,
        #   mean_j advantage_j * ((sigma * noise_j)^2 - sigma^2) / sigma
        #   = sigma * mean_j advantage_j * (noise_j^2 - 1)
        pair_means = (weights[:half] + weights[half:]) / 2
        advantage = (pair_means - weights.mean()).astype(np.float32)
        noise_moment = advantage @ np.square(self._noise) - advantage.sum()
        sigma_gradient = self.sigma * noise_moment / np.float32(half)
        if self.optimizer == "adam":
            self.mean += _adam_step(
                center_gradient,
                (self._moment1, self._moment2),
                self.generation + 1,
                self.center_learning_rate,
                self.beta1,
                self.beta2,
            )
        else:
            self._clipup_step(center_gradient)
        allowed = self.sigma * np.float32(self.sigma_max_change)
        new_sigma = self.sigma + np.float32(self.sigma_learning_rate) * sigma_gradient
        self.sigma = np.clip(new_sigma, self.sigma - allowed, self.sigma + allowed).astype(np.float32)
        self._noise = None

    def _clipup_step(self, gradient):
        norm = float(np.linalg.norm(gradient))
        velocity = self._moment1
        velocity *= np.float32(self.momentum)
        if norm > 0:
            velocity += gradient * np.float32(self.center_learning_rate / norm)
        max_speed = 2 * self.center_learning_rate if self.max_speed is None else self.max_speed
        speed = float(np.linalg.norm(velocity))
        if speed > max_speed:
            velocity *= np.float32(max_speed / speed)
        self.mean += velocity


# ---------------------------------------------------------------------------
# 4. SNES
# ---------------------------------------------------------------------------


def snes_utilities(population_size):
    """The rank-based utility weights of natural evolution strategies.

    The k-th best of n samples gets ``max(0, log(n/2 + 1) - log(k))``,
    normalized to sum to 1, minus ``1/n``: the better half pulls, the rest
    push a little, and the weights sum to zero.

    Args:
        population_size: The number of samples n.

    Returns:
        A float32 array of length n, best sample's weight first.

    Introduced in 10_neuroevolution_at_scale.ipynb.
    """
    ranks = np.arange(1, population_size + 1)
    raw = np.maximum(0.0, math.log(population_size / 2 + 1) - np.log(ranks))
    return (raw / raw.sum() - 1.0 / population_size).astype(np.float32)


class SNES(_GaussianStrategy):
    """Separable natural evolution strategy (Schaul, Glasmachers, Schmidhuber 2011).

    Samples ``mean + sigma * s`` with one sigma per parameter, sorts the
    samples by score and gives them fixed utility weights
    (:func:`snes_utilities`), then follows the natural gradient: the mean by
    ``learning_rate * sigma * sum(u_k s_k)``, and each sigma by an
    exponential (always positive) factor ``exp(sigma_learning_rate / 2 *
    sum(u_k (s_k^2 - 1)))``.

    Args:
        num_params: Length of one candidate.
        population_size: Candidates per generation (at least 2; the
            textbook default is ``4 + floor(3 ln num_params)``).
        center: Initial mean; defaults to `None` (zeros).
        seed: Random seed; defaults to `None`.
        init_sigma: Initial standard deviation of every parameter; defaults
            to 0.05.
        learning_rate: Step size of the mean; defaults to 1.0 (the
            textbook value).
        sigma_learning_rate: Step size of the log-sigmas; defaults to `None`:
            ``(3 + ln num_params) / (5 sqrt(num_params))``.

    Example:
        >>> snes = SNES(num_params=10, population_size=16, seed=0)
        >>> population = snes.ask()
        >>> snes.tell(-np.sum(population**2, axis=1))

    Introduced in 10_neuroevolution_at_scale.ipynb.
    """

    name = "snes"
    _mirrored = False
    _min_population_size = 2
    _state_names = ("mean", "sigma", "_noise")

    def __init__(
        self,
        num_params,
        population_size,
        *,
        center=None,
        seed=None,
        init_sigma=0.05,
        learning_rate=1.0,
        sigma_learning_rate=None,
    ):
        super().__init__(num_params, population_size, center=center, seed=seed)
        _check_positive("init_sigma", init_sigma)
        _check_positive("learning_rate", learning_rate)
        if sigma_learning_rate is not None:
            _check_positive("sigma_learning_rate", sigma_learning_rate, allow_zero=True)
        self.init_sigma = float(init_sigma)
        self.learning_rate = float(learning_rate)
        self.sigma_learning_rate = sigma_learning_rate
        self.sigma = np.full(num_params, self.init_sigma, dtype=np.float32)

    def _sigma_array(self):
        return self.sigma

    def _update(self, fitness):
        eta_sigma = self.sigma_learning_rate
        if eta_sigma is None:
            eta_sigma = (3 + math.log(self.num_params)) / (5 * math.sqrt(self.num_params))
        order = np.argsort(-fitness, kind="stable")  # best first
        utilities = np.zeros(self.population_size, dtype=np.float32)
        utilities[order] = snes_utilities(self.population_size)
        mean_gradient = utilities @ self._noise
        sigma_gradient = utilities @ np.square(self._noise) - utilities.sum()  # sum_k u_k (s_k^2 - 1)
        self.mean += np.float32(self.learning_rate) * self.sigma * mean_gradient
        self.sigma = self.sigma * np.exp(np.float32(eta_sigma / 2) * sigma_gradient)
        self._noise = None


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

STRATEGIES = {cls.name: cls for cls in (SimpleGA, OpenAIES, PGPE, SNES)}


def get_strategy(name_or_instance, num_params, population_size, *, center=None, seed=None, **hyperparameters):
    """Builds a strategy from its name (or checks and returns a ready one).

    Args:
        name_or_instance: A name from :data:`STRATEGIES` (`"ga"`,
            `"openai_es"`, `"pgpe"`, `"snes"`), a :class:`Strategy`
            subclass, or an already built :class:`Strategy` (returned as is
            after checking its sizes).
        num_params: Length of one candidate.
        population_size: Candidates per generation.
        center: Initial mean / individual; defaults to `None` (zeros).
        seed: Random seed; defaults to `None`.
        **hyperparameters: Passed to the strategy's constructor
            (for example ``sigma=0.05`` for OpenAI-ES).

    Returns:
        A :class:`Strategy`.

    Example:
        >>> strategy = get_strategy("pgpe", num_params=100, population_size=32, seed=0)
        >>> strategy.ask().shape
        (32, 100)

    Introduced in 10_neuroevolution_at_scale.ipynb.
    """
    if isinstance(name_or_instance, Strategy):
        strategy = name_or_instance
        if (strategy.num_params, strategy.population_size) != (num_params, population_size):
            raise ValueError(
                f"Expected a strategy with num_params={num_params} and "
                f"population_size={population_size}, received {strategy!r}."
            )
        if hyperparameters:
            raise ValueError(
                "Hyperparameters cannot be applied to an already built strategy; received "
                f"{sorted(hyperparameters)}. Pass them to its constructor instead."
            )
        return strategy
    if isinstance(name_or_instance, type) and issubclass(name_or_instance, Strategy):
        cls = name_or_instance
    elif isinstance(name_or_instance, str) and name_or_instance.lower() in STRATEGIES:
        cls = STRATEGIES[name_or_instance.lower()]
    else:
        raise ValueError(
            f"Expected a strategy name, one of {sorted(STRATEGIES)}, or a Strategy; "
            f"received {name_or_instance!r}."
        )
    allowed = _hyperparameter_names(cls)
    unknown = sorted(set(hyperparameters) - set(allowed))
    if unknown:
        raise ValueError(
            f"Unknown hyperparameter(s) {unknown} for {cls.__name__}; expected some of {allowed}."
        )
    return cls(num_params, population_size, center=center, seed=seed, **hyperparameters)
