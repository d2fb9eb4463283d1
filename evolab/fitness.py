"""Fitness functions of parameter vectors: one individual, or a whole population at once.

The seed lesson scores each individual by loading its weights into the model
and calling ``model.predict``: thousands of tiny Python round trips per
generation. :class:`PopulationEvaluator` instead hands the whole population to
one compiled function: ``model.stateless_call`` (the model as a pure function
of its weights) mapped over the population axis with
``keras.ops.vectorized_map``. The backend turns the per-individual matrix
products into batched ones. Same numbers, a different speed class.

Scores are "higher is better": ``"accuracy"``, or ``"neg_loss"`` (minus the
cross-entropy). A model may end in softmax or return logits; the evaluator
finds out which (see :func:`outputs_logits`).

Introduced in 09_neuroevolution_the_hard_way.ipynb (``keras_fitness``) and
10_neuroevolution_at_scale.ipynb (``PopulationEvaluator``).
"""

from __future__ import annotations

import logging
import math
import warnings

import keras
import numpy as np
from keras import ops

from .weights import ParameterLayout, _as_vector, set_parameters

__all__ = ["PopulationEvaluator", "keras_fitness", "outputs_logits", "evaluate_parameters"]

_EPSILON = 1e-7


def outputs_logits(model) -> bool:
    """True if the model returns logits, False if it returns probabilities.

    Looks at the last layer's activation first (softmax or sigmoid means
    probabilities), then at the compiled loss's ``from_logits``; a linear
    output with no compiled loss is taken as logits.
    """
    layers = getattr(model, "layers", None) or []
    activation = getattr(layers[-1], "activation", None) if layers else None
    name = getattr(activation, "__name__", str(activation or "")).lower()
    if "softmax" in name or "sigmoid" in name:
        return False
    loss = getattr(model, "loss", None)
    if loss is not None and hasattr(loss, "get_config"):
        return bool(loss.get_config().get("from_logits", False))
    return True


def _per_sample_metric(metric, logits):
    """Returns fn(y_true, y_pred) -> per-sample values for a built-in metric name."""
    if metric == "accuracy":
        def accuracy(y_true, y_pred):
            # Exactly ``argmax(y_pred) == y_true`` (ties go to the first class), written without argmax:
            # TensorFlow's vectorized_map has no batched rule for the bitcast inside Keras's argmax.
            num_classes = ops.shape(y_pred)[-1]
            true_class = ops.one_hot(ops.cast(y_true, "int32"), num_classes)
            true_score = ops.sum(true_class * y_pred, axis=-1, keepdims=True)
            classes = ops.arange(num_classes)[None, :]
            label = ops.cast(y_true, "int32")[:, None]
            lowest = ops.full_like(y_pred, -float("inf"))
            best_before = ops.max(ops.where(classes < label, y_pred, lowest), axis=-1, keepdims=True)
            best_after = ops.max(ops.where(classes > label, y_pred, lowest), axis=-1, keepdims=True)
            correct = ops.logical_and(true_score > best_before, true_score >= best_after)
            return ops.cast(correct[:, 0], "float32")
        return accuracy
    if metric == "neg_loss":
        def neg_loss(y_true, y_pred):
            if logits:
                log_probs = ops.log_softmax(y_pred, axis=-1)
            else:
                log_probs = ops.log(ops.clip(y_pred, _EPSILON, 1.0))
            one_hot = ops.one_hot(ops.cast(y_true, "int32"), ops.shape(y_pred)[-1])
            return ops.sum(one_hot * log_probs, axis=-1)
        return neg_loss
    raise ValueError(f"metric must be 'accuracy', 'neg_loss' or a callable; received {metric!r}")


def _num_outputs(model):
    """The number of classes the model scores (its last axis), or None where the model does not say."""
    try:
        shape = model.outputs[0].shape if getattr(model, "outputs", None) else model.output_shape
        return int(shape[-1]) if shape[-1] is not None else None
    except (AttributeError, TypeError, ValueError, IndexError):
        return None


def _example_shape_mismatch(model, x_shape):
    """The shape of one example the model takes, when examples of ``x_shape[1:]`` do not fit it; else None (also
    when Keras cannot say, as for a subclassed or multi-input model: its first call checks then)."""
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):
        return None
    if not isinstance(shape, tuple):
        return None
    expected, received = tuple(shape[1:]), tuple(x_shape[1:])
    if len(expected) == len(received) and any(e is not None and e != r for e, r in zip(expected, received)):
        return expected
    return None


def _checked_x(model, x):
    """``x`` as an array of examples the model takes: at least one, numbers, the model's input shape, finite."""
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"x must hold at least one example per row (at least 2-D); received shape {x.shape}.")
    if x.dtype.kind not in "biuf":
        raise ValueError(f"x must hold numbers; received dtype {x.dtype}.")
    expected = _example_shape_mismatch(model, x.shape)
    if expected is not None:
        raise ValueError(f"x has examples of shape {x.shape[1:]}, but the model takes {expected}.")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError(f"x holds NaN or infinite values (e.g. at example {int(np.argwhere(~np.isfinite(x))[0][0])});"
                         " every individual would score NaN.")
    return x


def _labels(y, num_samples, num_classes=None):
    """Integer labels in ``[0, num_classes)``, from integer labels or one-hot rows; anything else is refused.

    Out-of-range labels would score silently (``one_hot`` of them is a row of zeros: the best possible
    ``neg_loss``), and float labels would be truncated, so both are errors here.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot rows
        if num_classes is not None and y.shape[1] != num_classes:
            raise ValueError(f"Expected y as integer labels or one-hot rows of {num_classes} columns (the model's "
                             f"outputs); received shape {y.shape}.")
        if y.dtype.kind not in "biuf" or not np.all((y == 0) | (y == 1)) or not np.all(y.sum(axis=1) == 1):
            raise ValueError("Expected one-hot rows of y (0s and a single 1 per row); received other values. Pass "
                             "integer class labels instead.")
        y = y.argmax(axis=1)
    elif y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
        raise ValueError(f"Expected y as integer labels of shape ({num_samples},) or one-hot rows; received shape "
                         f"{y.shape}.")
    y = y.reshape(-1)
    if y.shape[0] != num_samples:
        raise ValueError(f"x and y must hold the same number of examples; received {num_samples} and {y.shape[0]}.")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError("Expected integer class labels in y; received floats that are not whole numbers (e.g. "
                             f"{float(y[~np.isfinite(y) | (y != np.round(y))][0])}).")
    elif y.dtype.kind not in "biu":
        raise ValueError(f"Expected integer class labels in y; received dtype {y.dtype}.")
    y = y.astype(np.int64)
    if y.size:
        low, high = int(y.min()), int(y.max())
        if low < 0 or (num_classes is not None and high >= num_classes):
            limit = f"[0, {num_classes})" if num_classes is not None else "[0, number of classes)"
            hint = " Labels counted from 1? Subtract 1." if low >= 1 and high == num_classes else ""
            raise ValueError(f"Expected labels in {limit} (one per model output, counted from 0); received labels "
                             f"from {low} to {high}.{hint}")
    return y.astype(np.int32)


class _OwnTracingIsExpected(logging.Filter):
    """Hides TensorFlow's "triggered tf.function retracing" warning for evolab's evaluators.

    Every PopulationEvaluator traces its own function once; TensorFlow counts traces per source function, not per
    evaluator, so a lesson that builds a few evaluators in a row would be warned about a problem it does not have.
    """

    def filter(self, record):
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and "PopulationEvaluator" in message)


def _compile(function, xla=False):
    """Compiles a pure function with the backend's own tracer (on TensorFlow with XLA where ``xla``)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        logger = logging.getLogger("tensorflow")
        if not any(isinstance(f, _OwnTracingIsExpected) for f in logger.filters):
            logger.addFilter(_OwnTracingIsExpected())
        return tf.function(function, jit_compile=xla, reduce_retracing=False)
    if backend == "jax":
        import jax

        return jax.jit(function)
    return function  # torch runs eagerly (torch.vmap still batches the work)


class PopulationEvaluator:
    """Scores a whole population of parameter vectors in one compiled, batched pass.

    Args:
        model: a built Keras model; its weights are not changed.
        x, y: the data (``y`` as integer labels or one-hot rows).
        metric: ``"accuracy"`` (default), ``"neg_loss"`` (minus mean cross-entropy),
            or a callable ``metric(y_true, y_pred) -> scalar`` written with ``keras.ops``.
        batch_size: ``None`` scores every example on each call; an integer draws a
            fresh random mini-batch of that size on each call (one per generation,
            as EvoJAX does), the same batch for every individual of that call.
        population_chunk: how many individuals go through the network at once;
            ``None`` picks the largest that fits ``memory_budget``. Chunks have a
            fixed size (the last one is padded), so nothing is traced twice.
        data_chunk: how many examples go through at once when ``batch_size`` is
            ``None`` (default: all of them, or fewer if memory requires).
        memory_budget: bytes of activations to aim for per pass (default 1 GiB).
        seed: seeds the mini-batch draws.

    Returns (when called):
        ``np.ndarray`` of shape ``(population_size,)``, float32, higher is better.

    Called with a :class:`evolab.strategies.LowRankPopulation` (what
    ``LowRankES.ask()`` returns), it scores the members from their factors
    without building the dense population (only the small kernels of the layers
    after the first, pass by pass; :mod:`evolab.lowrank`): the same scores, to
    float tolerance, as scoring ``np.asarray(population)``.

    Example:
        >>> evaluate = evolab.PopulationEvaluator(model, x_train, y_train, batch_size=1024)
        >>> fitness = evaluate(population)   # population: (population_size, num_params)
    """

    def __init__(self, model, x, y, metric="accuracy", batch_size=None, population_chunk=None, data_chunk=None,
                 memory_budget=2**30, seed=None):
        self.model = model
        self.layout = ParameterLayout.from_model(model)
        x = _checked_x(model, x)
        self.num_samples = int(x.shape[0])
        labels = _labels(y, self.num_samples, _num_outputs(model))
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                       or not 0 < int(batch_size) <= self.num_samples):
            raise ValueError(f"batch_size must be None or an integer in [1, {self.num_samples}]; received {batch_size!r}")
        self.batch_size = None if batch_size is None else int(batch_size)
        self._x = ops.convert_to_tensor(x.astype(np.float32))
        self._y = ops.convert_to_tensor(labels)
        self.metric = metric
        self.logits = outputs_logits(model)
        if callable(metric):
            self._per_sample = None
            self._metric = metric
        else:
            self._per_sample = _per_sample_metric(metric, self.logits)
        self._rng = np.random.default_rng(seed)
        self._non_trainable = [v.value for v in model.non_trainable_variables]

        samples_per_pass = self.batch_size or self.num_samples
        per_example = self._activation_size()
        if data_chunk is None:
            data_chunk = samples_per_pass
            if self._per_sample is not None:  # built-in metrics are means, so the data can be split
                data_chunk = max(1, min(samples_per_pass, int(memory_budget // (4 * per_example))))
        if isinstance(data_chunk, bool) or not isinstance(data_chunk, (int, np.integer)) or data_chunk < 1:
            raise ValueError(f"data_chunk must be a positive integer; received {data_chunk!r}")
        self.data_chunk = min(int(data_chunk), samples_per_pass)
        if population_chunk is None:
            per_individual = 4 * (self.layout.num_params + self.data_chunk * per_example)
            population_chunk = max(1, min(1024, int(memory_budget // per_individual)))
        if (isinstance(population_chunk, bool) or not isinstance(population_chunk, (int, np.integer))
                or population_chunk < 1):
            raise ValueError(f"population_chunk must be a positive integer; received {population_chunk!r}")
        self.population_chunk = int(population_chunk)
        if self._per_sample is None:
            # A metric of the caller's own, tried once now on the model's own weights: inside the compiled pass,
            # TensorFlow would bury a wrong shape's message (one value per example) in a traceback of its own.
            _scalar(metric(self._y[:self.data_chunk], model(self._x[:self.data_chunk], training=False)), metric)
        self._chunk_in_use = None
        self._memory_budget = int(memory_budget)
        self._vectorized = True  # one batched pass; falls back to a loop where the backend cannot vectorize a layer
        self._score_chunk = _compile(self._score_chunk_eager)
        self.num_evaluations = 0

    def _activation_size(self) -> int:
        """Floats of activations per example (summed over layers); a rough memory guide."""
        total = 0
        for layer in getattr(self.model, "layers", []):
            try:
                shape = layer.output.shape
                total += math.prod(int(d) for d in shape[1:] if d is not None)
            except Exception:
                continue
        return max(total, 1)

    def _score_chunk_eager(self, population, x, y):
        layout, model, non_trainable = self.layout, self.model, self._non_trainable

        def score_one(flat):
            trainable = [ops.reshape(flat[o:o + n], s) for o, n, s in zip(layout.offsets, layout.sizes, layout.shapes)]
            outputs, _ = model.stateless_call(trainable, non_trainable, x, training=False)
            if self._per_sample is None:
                return ops.cast(_scalar(self._metric(y, outputs), self._metric), "float32")
            return ops.sum(self._per_sample(y, outputs))

        if self._vectorized:
            return ops.vectorized_map(score_one, population)
        return ops.stack([score_one(population[i]) for i in range(int(population.shape[0]))])

    def _score(self, population, x, y):
        try:
            return self._score_chunk(population, x, y)
        except RuntimeError as error:
            # torch.vmap cannot map some layers yet (e.g. Keras's Conv2D on the torch backend): score the chunk
            # one individual after another, still without touching the model's weights.
            if not self._vectorized or keras.backend.backend() != "torch":
                raise
            warnings.warn(f"Batched evaluation is not supported for this model on the torch backend ({error}); "
                          "scoring individuals one by one.", RuntimeWarning, stacklevel=3)
            self._vectorized = False
            self._score_chunk = _compile(self._score_chunk_eager)
            return self._score_chunk(population, x, y)

    def _population_array(self, population):
        population = np.asarray(population)
        if population.dtype.kind not in "fiu":
            raise ValueError(f"Expected a numeric population array; received dtype {population.dtype}.")
        if population.ndim == 1:
            raise ValueError(
                f"Expected a 2-D population of shape (population_size, {self.layout.num_params}); received a 1-D "
                "array. Wrap one individual as population[None, :], or use evolab.evaluate_parameters."
            )
        if population.ndim != 2 or population.shape[1] != self.layout.num_params:
            raise ValueError(f"Expected a population of shape (population_size, {self.layout.num_params}); "
                             f"received shape {population.shape}.")
        if population.shape[0] == 0:
            raise ValueError("Expected a population of population_size >= 1 individuals; received an empty one.")
        with np.errstate(over="ignore"):  # checked after the cast: a float64 1e39 is inf in float32
            population = population.astype(np.float32, copy=False)
        if not np.all(np.isfinite(population)):
            raise ValueError("Expected finite parameters; the population holds NaN or infinite values as float32 (a "
                             "value too large for float32, beyond 3.4e38, becomes infinite).")
        return population

    def draw_batch(self):
        """The data for one call: all examples, or a fresh random mini-batch."""
        if self.batch_size is None:
            return self._x, self._y
        index = ops.convert_to_tensor(np.sort(self._rng.choice(self.num_samples, self.batch_size, replace=False)))
        return ops.take(self._x, index, axis=0), ops.take(self._y, index, axis=0)

    def __call__(self, population) -> np.ndarray:
        from .strategies.lowrank_es import LowRankPopulation

        if isinstance(population, LowRankPopulation):
            return self._score_low_rank(population)
        population = self._population_array(population)
        x, y = self.draw_batch()
        num_samples = int(x.shape[0])
        size = population.shape[0]
        # One traced shape, grown only when a larger population comes (at most up to population_chunk):
        # a first call with one individual does not pin every later call to one individual per pass.
        if self._chunk_in_use is None or (size > self._chunk_in_use and self._chunk_in_use < self.population_chunk):
            self._chunk_in_use = min(self.population_chunk, size)
        chunk = self._chunk_in_use
        padded = -size % chunk
        if padded:
            population = np.concatenate([population, np.repeat(population[-1:], padded, axis=0)])
        totals = np.zeros(population.shape[0], np.float64)
        for start in range(0, population.shape[0], chunk):
            part = ops.convert_to_tensor(population[start:start + chunk])
            for begin in range(0, num_samples, self.data_chunk):
                xs, ys = x[begin:begin + self.data_chunk], y[begin:begin + self.data_chunk]
                totals[start:start + chunk] += ops.convert_to_numpy(self._score(part, xs, ys))
        self.num_evaluations += size
        scores = totals[:size]
        if self._per_sample is not None:
            scores = scores / num_samples
        else:
            scores = scores / math.ceil(num_samples / self.data_chunk)
        return scores.astype(np.float32)

    # -- low-rank populations (evolab.strategies.LowRankES): members are never materialized -----------------

    def _low_rank_pass_eager(self, center, factors, sigma, x, y):
        from .lowrank import pair_outputs

        outputs = pair_outputs(self._low_rank_steps, center, factors, sigma, self._low_rank_rank, x)
        pairs, batch = int(outputs.shape[1]), int(outputs.shape[2])
        members = ops.reshape(outputs, (2 * pairs, batch) + tuple(outputs.shape[3:]))
        if self._per_sample is None:
            return ops.reshape(ops.vectorized_map(lambda out: ops.cast(self._metric(y, out), "float32"), members),
                               (2, pairs))
        flat = ops.reshape(members, (2 * pairs * batch,) + tuple(outputs.shape[3:]))
        per_sample = self._per_sample(ops.tile(y, (2 * pairs,)), flat)
        return ops.sum(ops.reshape(per_sample, (2, pairs, batch)), axis=-1)

    def _table_pass_eager(self, center, table, offsets, sigma, x, y):
        """The same pass for OpenAI-ES's shared noise table: each pair's full noise is sliced from ``table`` at its
        offset inside the pass (:class:`evolab.strategies.CompiledGeneration`)."""
        from .lowrank import table_rows

        rows = table_rows(table, offsets, self.layout.num_params)
        factors = [(ops.reshape(rows[:, o:o + n], (-1,) + tuple(shape)),)
                   for o, n, shape in zip(self.layout.offsets, self.layout.sizes, self.layout.shapes)]
        return self._low_rank_pass_eager(center, factors, sigma, x, y)

    def _score_low_rank(self, population):
        """Scores a :class:`~evolab.strategies.LowRankPopulation`: the shared products once, corrections per pair."""
        if population.shapes != tuple(self.layout.shapes):
            raise ValueError(f"Expected a low-rank population over this model's variables {self.layout.shapes}; "
                             f"received one over {population.shapes}. Build the strategy with "
                             "layer_shapes=evolab.ParameterLayout.from_model(model).shapes.")
        self._prepare_low_rank(population.rank)
        x, y = self.draw_batch()
        num_samples, half = int(x.shape[0]), population.half
        wanted = self.low_rank_pairs_per_pass(half, population.rank)
        if self._pairs_in_use is None or wanted > self._pairs_in_use:  # one traced shape, grown only
            self._pairs_in_use = wanted
        pairs = self._pairs_in_use
        padded = -half % pairs
        factors = population.factors
        if padded:  # zero noise for the padding pairs: one traced shape for every chunk
            factors = [tuple(ops.concatenate([f, ops.zeros((padded,) + tuple(f.shape[1:]), f.dtype)]) for f in factor)
                       for factor in factors]
        center = [ops.convert_to_tensor(part) for part in self.layout.unflatten(population.center)]
        sigma = ops.convert_to_tensor(np.float32(population.sigma))
        totals = np.zeros((2, half + padded), np.float64)
        for start in range(0, half + padded, pairs):
            chunk = [tuple(f[start:start + pairs] for f in factor) for factor in factors]
            for begin in range(0, num_samples, self.data_chunk):
                xs, ys = x[begin:begin + self.data_chunk], y[begin:begin + self.data_chunk]
                totals[:, start:start + pairs] += ops.convert_to_numpy(self._low_rank_pass(center, chunk, sigma, xs, ys))
        self.num_evaluations += population.population_size
        scores = np.concatenate([totals[0, :half], totals[1, :half]])
        if self._per_sample is not None:
            scores = scores / num_samples
        else:
            scores = scores / math.ceil(num_samples / self.data_chunk)
        return scores.astype(np.float32)

    def _prepare_low_rank(self, rank):
        """Plans the low-rank pass for this model and rank (once) and compiles it."""
        from .lowrank import plan

        if getattr(self, "_low_rank_steps", None) is None or self._low_rank_rank != rank:
            self._low_rank_steps, self._low_rank_rank = plan(self.model), rank
            # XLA fuses the pass's broadcasts and activations (2-core CPU, seed MLP, population 4,096: 0.29 s ->
            # 0.10 s); a metric of the caller's own may use operations XLA lacks, so it keeps the plain tracer
            self._low_rank_pass = _compile(self._low_rank_pass_eager, xla=self._per_sample is not None)
            self._table_pass = _compile(self._table_pass_eager, xla=self._per_sample is not None)
            self._pairs_in_use, self._pairs_for = None, {}

    def low_rank_pairs_per_pass(self, half, rank):
        """Mirrored pairs per low-rank pass for ``half`` pairs: within the pass budget, in equal passes (little
        padding: 1,024 pairs go as 9 x 114). ``rank=None``: full noise (OpenAI-ES's noise table)."""
        from .lowrank import kernel_numbers_per_pair

        self._prepare_low_rank(rank)
        if (half, rank) not in self._pairs_for:
            per_pair = (8 * self.data_chunk * (self._activation_size() + (rank or 0))  # both members' activations
                        + 4 * kernel_numbers_per_pair(self._low_rank_steps, self.layout.shapes)
                        + (4 * self.layout.num_params if rank is None else 0))  # full noise: the pair's own
            cap = self._pairs_cap(per_pair)
            self._pairs_for[(half, rank)] = math.ceil(half / math.ceil(half / cap))
        return self._pairs_for[(half, rank)]

    def _pairs_cap(self, bytes_per_pair):
        """Pairs per low-rank pass. On a CPU, passes of about 256 MiB of activations (measured on the 2-core CPU,
        seed MLP, with XLA: population 4,096 in 0.10 s per call, against 0.18 s with 32 MiB passes and 0.11 s
        with one pass per 1 GiB; population 16,384 peaks at 1.5 GB for the whole process); an accelerator gets
        the whole ``memory_budget``."""
        from .runtime import _devices

        budget = self._memory_budget
        if _devices(keras.backend.backend()) == "cpu":
            budget = min(budget, 256 * 2**20)
        return max(1, int(budget // bytes_per_pair))

    def evaluate_one(self, vector) -> float:
        """Scores a single parameter vector (a convenience over ``self(vector[None])``)."""
        vector = _as_vector(vector, self.layout.num_params)
        return float(self(vector[None, :])[0])


def _scalar(value, metric):
    """A callable metric's value, checked to be one number (not one per example)."""
    shape = tuple(ops.shape(value))
    if None in shape:  # not known while tracing: the backend will say if it does not fit
        return value
    if any(d != 1 for d in shape):
        name = getattr(metric, "__qualname__", type(metric).__name__)
        raise ValueError(f"metric {name}(y_true, y_pred) must return one number for all the examples (reduce it, "
                         f"e.g. with keras.ops.mean); it returned shape {shape}.")
    return ops.reshape(value, ())


def _model_score(model, x, y, metric, batch_size=2048):
    """Scores the model's current weights on (x, y) with plain batched calls."""
    logits = outputs_logits(model)
    labels = _labels(y, len(x), _num_outputs(model))
    if callable(metric):
        return float(ops.convert_to_numpy(_scalar(metric(ops.convert_to_tensor(labels), model(x, training=False)),
                                                  metric)))
    per_sample = _per_sample_metric(metric, logits)
    total = 0.0
    for start in range(0, len(x), batch_size):
        outputs = model(x[start:start + batch_size], training=False)
        total += float(ops.convert_to_numpy(ops.sum(per_sample(ops.convert_to_tensor(labels[start:start + batch_size]),
                                                               outputs))))
    return total / len(x)


def evaluate_parameters(model, vector, x, y, metric="accuracy", batch_size=2048) -> float:
    """Loads ``vector`` into ``model`` and scores it on ``(x, y)`` (the model keeps the weights).

    Args:
        model: a built Keras model.
        vector: a parameter vector (see :func:`evolab.get_parameters`).
        x, y: the data.
        metric: ``"accuracy"``, ``"neg_loss"`` or a callable ``metric(y_true, y_pred)``.
        batch_size: examples per forward pass.

    Returns:
        The score, a float (higher is better).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; received {batch_size!r}")
    x = _checked_x(model, x)
    set_parameters(model, vector)
    return _model_score(model, x, y, metric, batch_size)


def keras_fitness(model, x, y, metric="accuracy"):
    """The seed lesson's fitness function, done right: one individual at a time, as DEAP expects.

    Loads the individual's weights with :func:`evolab.set_parameters` and calls
    the model directly (``model(x)``; ``model.predict`` costs ~80 ms of overhead
    per call), returning DEAP's 1-tuple.

    Args:
        model: a built Keras model (its weights are overwritten on each call).
        x, y: the data to score on.
        metric: ``"accuracy"``, ``"neg_loss"`` or a callable ``metric(y_true, y_pred)``.

    Returns:
        A function ``evaluate(individual) -> (score,)``.

    Example:
        >>> toolbox.register("evaluate", evolab.keras_fitness(model, x_val, y_val))
    """
    if not callable(metric):
        _per_sample_metric(metric, True)  # validate the name now, not at the first call
    x = _checked_x(model, x)  # x and y checked once, now, not at the first call
    y = _labels(y, len(x), _num_outputs(model))

    def evaluate(individual):
        set_parameters(model, individual)
        return (_model_score(model, x, y, metric, batch_size=len(x)),)

    return evaluate
