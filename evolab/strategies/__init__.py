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
hundred networks with 10^5 weights each fits comfortably in memory. (The
low-rank strategy draws its noise with the Keras backend's stateless random
functions instead, so that it can stay where the evaluation runs.)

Five strategies are included, one file each, also selectable by name:

* ``"ga"``: :class:`SimpleGA` (``ga.py``), a genetic algorithm (selection,
  crossover, Gaussian mutation, elitism), the same ideas as DEAP's ``eaSimple``.
* ``"openai_es"``: :class:`OpenAIES` (``openai_es.py``), the evolution strategy
  of Salimans et al. (2017): mirrored Gaussian samples estimate the gradient,
  Adam follows it. With ``noise="table"`` its members read their noise from
  one shared table (as in the paper), and :class:`CompiledGeneration` runs its
  whole generation on the backend too.
* ``"pgpe"``: :class:`PGPE` (``pgpe.py``), policy gradients with
  parameter-based exploration as in EvoJAX, which also learns a sigma for
  every parameter.
* ``"snes"``: :class:`SNES` (``snes.py``), the separable natural evolution
  strategy.
* ``"lowrank_es"``: :class:`LowRankES` (``lowrank_es.py``), OpenAI-ES with
  low-rank perturbations of every weight matrix (EGGROLL, Sarkar et al. 2025):
  its ``ask()`` returns factors, which :class:`evolab.PopulationEvaluator`
  scores without building the dense population, so populations of thousands
  cost little more than plain inference; :class:`CompiledGeneration` runs its
  whole generation (noise, scores, update) as one compiled function
  (``compiled.py``).

The evolution strategies (all but the GA) speak one vocabulary: ``sigma`` is
the (initial) noise scale and ``learning_rate`` the step size of the center;
``current_sigma`` is the noise scale in use now. The GA keeps its own words:
``mutation_rate``, ``mutation_sigma``, ``crossover_rate`` and
``initial_spread``. The rest of the package: ``base.py`` (what every strategy
does the same way), ``shaping.py`` (fitness shaping), ``optimizers.py`` (SGD,
Adam, ClipUp) and ``schedules.py`` (``decay``).

Introduced in 10_neuroevolution_at_scale.ipynb.
"""

from __future__ import annotations

from .base import GaussianStrategy, Strategy, hyperparameter_names, refuse_renamed
from .ga import SimpleGA
from .compiled import CompiledGeneration
from .lowrank_es import LowRankES, LowRankPopulation
from .openai_es import NOISE_TABLE_SIZE, OpenAIES
from .optimizers import OPTIMIZERS, SGD, Adam, ClipUp, Optimizer, get_optimizer
from .pgpe import PGPE
from .schedules import Decay, decay
from .shaping import FITNESS_SHAPINGS, centered_ranks, normalized, rank_utilities, shape_fitness, snes_utilities
from .snes import SNES

__all__ = [
    "Strategy", "GaussianStrategy", "SimpleGA", "OpenAIES", "NOISE_TABLE_SIZE", "PGPE", "SNES", "LowRankES",
    "LowRankPopulation",    "CompiledGeneration", "STRATEGIES", "get_strategy",
    "centered_ranks", "normalized", "rank_utilities", "snes_utilities", "shape_fitness", "FITNESS_SHAPINGS",
    "Optimizer", "SGD", "Adam", "ClipUp", "OPTIMIZERS", "get_optimizer", "Decay", "decay",
]

#: Every strategy by its name: what ``neuroevolve(strategy=...)``, the CLI and the panels accept.
STRATEGIES = {cls.name: cls for cls in (SimpleGA, OpenAIES, PGPE, SNES, LowRankES)}


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
        **hyperparameters: Passed to the strategy's constructor (for
            example ``sigma=0.05, learning_rate=0.02`` for any evolution
            strategy).

    Returns:
        A :class:`Strategy`.

    Raises:
        ValueError: an unknown name, a hyperparameter the strategy does not
            take (an older name is answered with the one that replaced it),
            or a ready strategy of another size.

    Example:
        >>> strategy = get_strategy("pgpe", num_params=100, population_size=32, sigma=0.05, seed=0)
        >>> strategy.ask().shape
        (32, 100)

    Introduced in 10_neuroevolution_at_scale.ipynb.
    """
    if isinstance(name_or_instance, Strategy):
        strategy = name_or_instance
        if (strategy.num_params, strategy.population_size) != (num_params, population_size):
            raise ValueError(f"Expected a strategy with num_params={num_params} and "
                             f"population_size={population_size}, received {strategy!r}.")
        if hyperparameters:
            raise ValueError("Hyperparameters cannot be applied to an already built strategy; received "
                             f"{sorted(hyperparameters)}. Pass them to its constructor instead.")
        return strategy
    if isinstance(name_or_instance, type) and issubclass(name_or_instance, Strategy):
        cls = name_or_instance
    elif isinstance(name_or_instance, str) and name_or_instance.lower() in STRATEGIES:
        cls = STRATEGIES[name_or_instance.lower()]
    else:
        raise ValueError(f"Expected a strategy name, one of {sorted(STRATEGIES)}, or a Strategy; "
                         f"received {name_or_instance!r}.")
    refuse_renamed(cls, hyperparameters)
    allowed = hyperparameter_names(cls)
    unknown = sorted(set(hyperparameters) - set(allowed))
    if unknown:
        raise ValueError(f"Unknown hyperparameter(s) {unknown} for {cls.__name__}; expected some of {allowed}.")
    return cls(num_params, population_size, center=center, seed=seed, **hyperparameters)
