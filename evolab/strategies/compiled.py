"""A whole generation of :class:`LowRankES` (or of :class:`OpenAIES` with its noise table) as one compiled function.

Introduced in 11_neuroevolution_at_hyperscale.ipynb.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from .lowrank_es import LowRankES, LowRankPopulation, _noise, _stream, low_rank_gradient, sample_factors
from .openai_es import OpenAIES
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
    """A whole generation of :class:`LowRankES` (or :class:`OpenAIES`) as one compiled function on the backend.

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

    OpenAI-ES runs here with ``noise="table"``: its noise table goes to the
    device once, each step sends the pairs' offsets into it (one number per
    pair), and each pair's full noise is sliced from the table inside the
    pass. Mirrored members share the work as in the low-rank pass: the first
    layer's ``x @ W`` is computed once for everyone and ``x @ E_j`` once per
    pair, half the multiply-adds of scoring every member's own weights.

    Args:
        strategy: a :class:`LowRankES`, or an :class:`OpenAIES` with
            ``noise="table"``; its state is read now (and again by
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

        table = isinstance(strategy, OpenAIES) and strategy.noise == "table"
        if not (isinstance(strategy, LowRankES) or table):
            detail = " with noise='fresh'" if isinstance(strategy, OpenAIES) else ""
            raise ValueError(f"CompiledGeneration runs a LowRankES, or an OpenAIES with noise='table'; received "
                             f"{type(strategy).__name__}{detail}.")
        if evaluator._per_sample is None:
            raise ValueError("CompiledGeneration needs a built-in metric ('neg_loss' or 'accuracy'); the evaluator "
                             "has a metric of the caller's own (use ask/evaluate/tell for it).")
        if strategy.fitness_shaping not in SHAPINGS_FOR:
            raise ValueError(f"CompiledGeneration shapes fitness by {sorted(SHAPINGS_FOR)}; the strategy uses "
                             f"{strategy.fitness_shaping!r}.")
        if table and strategy.num_params != evaluator.layout.num_params:
            raise ValueError(f"Expected a strategy over the model's {evaluator.layout.num_params} parameters; "
                             f"received one over {strategy.num_params}.")
        if not table and tuple(strategy._shapes) != tuple(evaluator.layout.shapes):
            raise ValueError(f"Expected a strategy over the model's variables {evaluator.layout.shapes}; received "
                             f"one over {strategy._shapes}. Build it with layer_shapes=ParameterLayout.from_model("
                             "model).shapes.")
        self.strategy, self.evaluator = strategy, evaluator
        self.rank = None if table else strategy.rank  # None: full noise, from the table
        self.half = strategy.population_size // 2
        self.pairs = evaluator.low_rank_pairs_per_pass(self.half, self.rank)
        self.passes = math.ceil(self.half / self.pairs)
        self._batch_stream = _stream(strategy.noise_seed, len(evaluator.layout.shapes), 3)
        # TensorFlow: a plain graph around the XLA-compiled pass (under XLA, TensorFlow's stateless random ops draw
        # other numbers than ask() does, and it compiles the program again for every new seed)
        evaluator._prepare_low_rank(self.rank)
        self._table = _to_device(strategy.noise_table) if table else None
        self._table_gradient = _compile(self._table_gradient_eager, xla=True) if table else None
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
        self._forget_pending()

    def _forget_pending(self):
        strategy = self.strategy
        strategy._asked = False
        if self._table is None:
            strategy._pending = None
        else:
            strategy._noise = None

    def _scalar(self, name, value):
        if self._scalars.get(name, (None,))[0] != value:  # a constant schedule sends its value once
            self._scalars[name] = (value, _to_device(np.float32(value)))
        return self._scalars[name][1]

    def step(self):
        """Runs one generation on the device; returns its scores (float32, population order as ``ask()``)."""
        strategy = self.strategy
        sigma = self._scalar("sigma", strategy.current_sigma)
        learning_rate = self._scalar("learning_rate", strategy.current_learning_rate)
        offsets = () if self._table is None else _to_device(strategy.noise_offsets(strategy.generation))
        self._state, fitness = self._function(self._state, sigma, learning_rate, offsets)
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
            strategy.best_fitness = float(best_fitness)
            strategy.best_solution = self._member(best_center, int(best_generation), int(best_index))
        self._forget_pending()

    def _member(self, center, generation, index):
        """Member ``index`` of ``generation`` around ``center``, drawn again on the host (the best member)."""
        strategy = self.strategy
        sigma = scheduled("sigma", strategy.sigma, strategy.sigma_schedule, generation)
        if self._table is None:
            factors = sample_factors(strategy._shapes, strategy.rank, self.half, strategy.noise_seed, generation)
            return LowRankPopulation(center, factors, strategy._shapes, sigma, strategy.rank).member(index)
        start = int(strategy.noise_offsets(generation)[index % self.half])
        noise = strategy.noise_table[start:start + strategy.num_params]
        return (center + np.float32(sigma if index < self.half else -sigma) * noise).astype(np.float32)

    # -- the traced generation ------------------------------------------------------------------------------

    def _batch(self, generation):
        evaluator = self.evaluator
        if evaluator.batch_size is None:
            return evaluator._x, evaluator._y
        draw = _noise("uniform", (evaluator.num_samples,), self._batch_stream, generation)
        index = ops.sort(ops.top_k(draw, evaluator.batch_size)[1])  # without replacement, as draw_batch
        return ops.take(evaluator._x, index, axis=0), ops.take(evaluator._y, index, axis=0)

    def _chunks(self, tensor):
        """``tensor`` (first axis: the pairs) padded and cut into ``(passes, pairs, ...)``."""
        padded = self.passes * self.pairs - self.half
        tensor = ops.pad(tensor, [(0, padded)] + [(0, 0)] * (len(tensor.shape) - 1))
        return ops.reshape(tensor, (self.passes, self.pairs) + tuple(tensor.shape[1:]))

    def _scores(self, center, noise, sigma, x, y):
        """Every member's score, ``(population_size,)``: the passes of ``evaluator.low_rank_pairs_per_pass``.

        ``noise``: the generation's factors (low rank) or the pairs' offsets into the noise table.
        """
        evaluator, layout = self.evaluator, self.evaluator.layout
        parts = [ops.reshape(center[o:o + n], s) for o, n, s in zip(layout.offsets, layout.sizes, layout.shapes)]
        if self._table is None:
            chunks = [tuple(self._chunks(f) for f in factor) for factor in noise]
            first = [tuple(f[0] for f in factor) for factor in chunks]
            score = evaluator._low_rank_pass
        else:
            chunks = self._chunks(noise)
            first = chunks[0]

            def score(parts, chunk, sigma, xs, ys):
                return evaluator._table_pass(parts, self._table, chunk, sigma, xs, ys)
        num_samples, step = int(x.shape[0]), evaluator.data_chunk

        def one_pass(chunk):  # (2, pairs) sums of the per-example metric
            return sum(score(parts, chunk, sigma, x[i:i + step], y[i:i + step]) for i in range(0, num_samples, step))

        if self.passes == 1:
            totals = one_pass(first)[:, None]
        else:
            totals = ops.moveaxis(ops.map(one_pass, chunks), 0, 1)  # (2, passes, pairs)
        totals = ops.reshape(totals, (2, self.passes * self.pairs))[:, :self.half] / num_samples
        return ops.concatenate([totals[0], totals[1]])

    def _table_gradient_eager(self, table, offsets, differences):
        """``sum_j d_j * table[o_j : o_j + n]``, pass by pass (each pass slices its pairs' rows once)."""
        from ..lowrank import table_rows

        n = self.strategy.num_params

        def rows(pair):
            return ops.matmul(pair[1][None], table_rows(table, pair[0], n))[0]

        if self.passes == 1:
            return rows((offsets, differences))
        return ops.sum(ops.map(rows, (self._chunks(offsets), self._chunks(differences))), axis=0)

    def _generation(self, state, sigma, learning_rate, offsets):
        strategy = self.strategy
        center, moments, steps, generation, best = state
        scale = 1.0 / (strategy.population_size * sigma)
        if self._table is None:
            noise = sample_factors(strategy._shapes, strategy.rank, self.half, strategy.noise_seed, generation)
        else:
            noise = offsets
        x, y = self._batch(generation)
        fitness = self._scores(center, noise, sigma, x, y)
        fitness = ops.where(ops.isnan(fitness), -np.inf, fitness)  # NaN counts as the worst score, as in tell()
        top = ops.argmax(fitness)
        improved = fitness[top] > best[0]
        best = (ops.where(improved, fitness[top], best[0]), ops.where(improved, center, best[1]),
                ops.where(improved, generation, best[2]), ops.where(improved, ops.cast(top, "int32"), best[3]))
        utilities = SHAPINGS_FOR[strategy.fitness_shaping](ops, fitness)
        differences = utilities[:self.half] - utilities[self.half:]
        if self._table is None:
            gradient = low_rank_gradient(noise, differences, strategy.rank, scale)
        else:
            gradient = self._table_gradient(self._table, offsets, ops.cast(differences, "float32")) * scale
        change, new_moments = strategy.optimizer.update(ops, gradient, learning_rate, moments, steps + 1.0)
        learned = ops.any(fitness > -np.inf)  # every score NaN: nothing moves, as in tell()
        decay = getattr(strategy, "weight_decay", 0.0)  # OpenAI-ES's decoupled weight decay, as in its tell()
        moved = (center * (1.0 - learning_rate * decay) if decay else center) + change
        center = ops.where(learned, moved, center)
        moments = tuple(ops.where(learned, new, old) for new, old in zip(new_moments, moments))
        steps = ops.where(learned, steps + 1.0, steps)
        return (center, moments, steps, generation + 1, best), fitness
