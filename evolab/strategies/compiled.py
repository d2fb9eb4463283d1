"""A whole generation of :class:`LowRankES` compiled as one function on the backend.

Introduced in 11_neuroevolution_at_hyperscale.ipynb.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from .lowrank_es import LowRankES, LowRankPopulation, _noise, _stream, low_rank_gradient, sample_factors
from .schedules import scheduled
from .shaping import SHAPINGS_FOR

__all__ = ["CompiledGeneration"]


def _to_device(tree):
    """Host arrays to backend tensors (on JAX an explicit ``device_put``, which a transfer guard allows)."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.device_put(tree)
    return keras.tree.map_structure(ops.convert_to_tensor, tree)


def _to_host(tree):
    """Backend tensors to NumPy arrays (on JAX an explicit ``device_get``)."""
    if keras.backend.backend() == "jax":
        import jax

        return keras.tree.map_structure(np.asarray, jax.device_get(tree))
    return keras.tree.map_structure(ops.convert_to_numpy, tree)


class CompiledGeneration:
    """A whole generation of :class:`LowRankES` as one compiled function on the backend.

    ``ask()``, the evaluator and ``tell()`` each cross between Python and the
    backend: the factors are drawn on the backend, the scores come back, the
    update runs in NumPy on the host, and the new center goes back. Here the
    noise, the mini-batch, the low-rank scores, the fitness shaping and the
    optimizer's step are one function, traced once (``jax.jit``; on TensorFlow
    a ``tf.function`` around the XLA-compiled pass; PyTorch runs it eagerly on
    its device), and the
    state it updates (center, optimizer moments, counters, best member) stays
    on the device. :meth:`step` sends two numbers (this generation's sigma and
    learning rate, from the strategy's schedules) and brings back the scores;
    :meth:`sync` writes the state into the strategy, for a validation score or
    a checkpoint. Until then the strategy's center is the one it had at the
    last sync.

    The noise is the strategy's own (``ask()`` draws the same factors from the
    same seeds); the mini-batch is a stateless draw from (seed, generation) on
    the device, so a resumed run draws the same batches as an unbroken one.

    Args:
        strategy: a :class:`LowRankES`; its state is read now (and again by
            :meth:`load`).
        evaluator: an :class:`evolab.PopulationEvaluator` of the model, with a
            built-in metric (``"neg_loss"`` or ``"accuracy"``); its
            ``batch_size`` is the mini-batch of a generation (``None``: all).

    Example:
        >>> generation = CompiledGeneration(strategy, evaluator)
        >>> fitness = generation.step()     # the only array that comes back
        >>> generation.sync()               # strategy.center is now current

    Introduced in 11_neuroevolution_at_hyperscale.ipynb.
    """

    def __init__(self, strategy, evaluator):
        from ..fitness import _compile

        if not isinstance(strategy, LowRankES):
            raise ValueError(f"CompiledGeneration runs a LowRankES; received {type(strategy).__name__}.")
        if evaluator._per_sample is None:
            raise ValueError("CompiledGeneration needs a built-in metric ('neg_loss' or 'accuracy'); the evaluator "
                             "has a metric of the caller's own (use ask/evaluate/tell for it).")
        if strategy.fitness_shaping not in SHAPINGS_FOR:
            raise ValueError(f"CompiledGeneration shapes fitness by {sorted(SHAPINGS_FOR)}; the strategy uses "
                             f"{strategy.fitness_shaping!r}.")
        if tuple(strategy._shapes) != tuple(evaluator.layout.shapes):
            raise ValueError(f"Expected a strategy over the model's variables {evaluator.layout.shapes}; received "
                             f"one over {strategy._shapes}. Build it with layer_shapes=ParameterLayout.from_model("
                             "model).shapes.")
        self.strategy, self.evaluator = strategy, evaluator
        self.half = strategy.population_size // 2
        self.pairs = evaluator.low_rank_pairs_per_pass(self.half, strategy.rank)
        self.passes = math.ceil(self.half / self.pairs)
        self._batch_stream = _stream(strategy.noise_seed, len(strategy._shapes), 3)
        # TensorFlow: a plain graph around the XLA-compiled pass (under XLA, TensorFlow's stateless random ops draw
        # other numbers than ask() does, and it compiles the program again for every new seed)
        evaluator._prepare_low_rank(strategy.rank)
        self._function = _compile(self._generation)
        self._scalars = {}
        self.load()

    def load(self):
        """Sends the strategy's state to the device (done at construction; again after ``load_state_dict``)."""
        strategy, optimizer = self.strategy, self.strategy.optimizer
        moments = optimizer.initial_state(np, strategy.mean)
        best = (np.float32(strategy.best_fitness), strategy.mean, np.int32(-1), np.int32(0))  # -1: the host's best
        self._state = _to_device((strategy.mean, tuple(np.asarray(m, np.float32) for m in moments),
                                  np.float32(optimizer.steps), np.int32(strategy.generation), best))
        strategy._pending, strategy._asked = None, False

    def _scalar(self, name, value):
        if self._scalars.get(name, (None,))[0] != value:  # a constant schedule sends its value once
            self._scalars[name] = (value, _to_device(np.float32(value)))
        return self._scalars[name][1]

    def step(self):
        """Runs one generation on the device; returns its scores (float32, population order as ``ask()``)."""
        strategy = self.strategy
        sigma = self._scalar("sigma", strategy.current_sigma)
        learning_rate = self._scalar("learning_rate", strategy.current_learning_rate)
        self._state, fitness = self._function(self._state, sigma, learning_rate)
        strategy.generation += 1  # the host's count, for the schedules; the device keeps its own
        self.evaluator.num_evaluations += strategy.population_size
        return _to_host(fitness)

    def sync(self, center_only=False):
        """Writes the device's state (center, moments, counters, best member) into the strategy.

        ``center_only``: just the center and the generation count (what a validation score needs); the moments
        and the best member, which costs a draw of that generation's noise, wait for a full sync.
        """
        strategy, optimizer = self.strategy, self.strategy.optimizer
        if center_only:
            center, generation = _to_host((self._state[0], self._state[3]))
            strategy.mean, strategy.generation = center.astype(np.float32), int(generation)
            return
        center, moments, steps, generation, best = _to_host(self._state)
        strategy.generation = int(generation)  # the device's count is the truth (a stop may fall inside step())
        strategy.mean = center.astype(np.float32)
        for name, value in zip(optimizer._state_names, moments):
            setattr(optimizer, name, value.astype(np.float32))
        optimizer.steps = int(steps)
        best_fitness, best_center, best_generation, best_index = best
        if int(best_generation) >= 0 and float(best_fitness) > strategy.best_fitness:
            factors = sample_factors(strategy._shapes, strategy.rank, self.half, strategy.noise_seed, int(best_generation))
            sigma = scheduled("sigma", strategy.sigma, strategy.sigma_schedule, int(best_generation))
            best_population = LowRankPopulation(best_center, factors, strategy._shapes, sigma, strategy.rank)
            strategy.best_fitness, strategy.best_solution = float(best_fitness), best_population.member(int(best_index))
        strategy._pending, strategy._asked = None, False

    # -- the traced generation ------------------------------------------------------------------------------

    def _batch(self, generation):
        evaluator = self.evaluator
        if evaluator.batch_size is None:
            return evaluator._x, evaluator._y
        draw = _noise("uniform", (evaluator.num_samples,), self._batch_stream, generation)
        index = ops.sort(ops.top_k(draw, evaluator.batch_size)[1])  # without replacement, as draw_batch
        return ops.take(evaluator._x, index, axis=0), ops.take(evaluator._y, index, axis=0)

    def _scores(self, center, factors, sigma, x, y):
        """Every member's score, ``(population_size,)``: the passes of ``evaluator.low_rank_pairs_per_pass``."""
        evaluator, layout = self.evaluator, self.evaluator.layout
        parts = [ops.reshape(center[o:o + n], s) for o, n, s in zip(layout.offsets, layout.sizes, layout.shapes)]
        padded = self.passes * self.pairs - self.half
        chunks = [tuple(ops.reshape(ops.pad(f, [(0, padded)] + [(0, 0)] * (len(f.shape) - 1)),
                                    (self.passes, self.pairs) + tuple(f.shape[1:])) for f in factor)
                  for factor in factors]
        num_samples, step = int(x.shape[0]), evaluator.data_chunk

        def one_pass(chunk):  # (2, pairs) sums of the per-example metric
            return sum(evaluator._low_rank_pass(parts, chunk, sigma, x[i:i + step], y[i:i + step])
                       for i in range(0, num_samples, step))

        if self.passes == 1:
            totals = one_pass([tuple(f[0] for f in factor) for factor in chunks])[:, None]
        else:
            totals = ops.moveaxis(ops.map(one_pass, chunks), 0, 1)  # (2, passes, pairs)
        totals = ops.reshape(totals, (2, self.passes * self.pairs))[:, :self.half] / num_samples
        return ops.concatenate([totals[0], totals[1]])

    def _generation(self, state, sigma, learning_rate):
        strategy = self.strategy
        center, moments, steps, generation, best = state
        factors = sample_factors(strategy._shapes, strategy.rank, self.half, strategy.noise_seed, generation)
        x, y = self._batch(generation)
        fitness = self._scores(center, factors, sigma, x, y)
        fitness = ops.where(ops.isnan(fitness), -np.inf, fitness)  # NaN counts as the worst score, as in tell()
        top = ops.argmax(fitness)
        improved = fitness[top] > best[0]
        best = (ops.where(improved, fitness[top], best[0]), ops.where(improved, center, best[1]),
                ops.where(improved, generation, best[2]), ops.where(improved, ops.cast(top, "int32"), best[3]))
        utilities = SHAPINGS_FOR[strategy.fitness_shaping](ops, fitness)
        differences = utilities[:self.half] - utilities[self.half:]
        gradient = low_rank_gradient(factors, differences, strategy.rank, 1.0 / (strategy.population_size * sigma))
        change, new_moments = strategy.optimizer.update(ops, gradient, learning_rate, moments, steps + 1.0)
        learned = ops.any(fitness > -np.inf)  # every score NaN: nothing moves, as in tell()
        center = ops.where(learned, center + change, center)
        moments = tuple(ops.where(learned, new, old) for new, old in zip(new_moments, moments))
        steps = ops.where(learned, steps + 1.0, steps)
        return (center, moments, steps, generation + 1, best), fitness
