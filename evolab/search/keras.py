"""Turn a Keras model builder into a search objective.

Introduced in 04_bayesian_optimization.ipynb.
"""

from __future__ import annotations

import math
import numbers
import random

import keras
import numpy as np

from ..fitness import _example_shape_mismatch
from .engine import TrialPruned

__all__ = ["keras_objective", "KerasObjective", "build_mlp"]


def _splits(data):
    """``(train, validation)`` as ``(x, y)`` pairs from a Dataset-like object, a dict or a pair of pairs."""
    if hasattr(data, "train") and hasattr(data, "validation"):
        train, validation = data.train, data.validation
    elif isinstance(data, dict) and "train" in data and "validation" in data:
        train, validation = data["train"], data["validation"]
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        train, validation = data
    else:
        raise ValueError("data must have .train and .validation (x, y) pairs (evolab.data.load_digits()), "
                         f"a dict with those keys, or a (train, validation) pair; received {type(data).__name__}")
    if validation is None:
        raise ValueError("data needs a validation split: searches score on validation, never on test")
    for name, split in (("train", train), ("validation", validation)):
        if not isinstance(split, (tuple, list)) or len(split) != 2:
            raise ValueError(f"data.{name} must be an (x, y) pair; received {type(split).__name__}")
    return tuple(train), tuple(validation)


def _ends_in_softmax(model) -> bool:
    activation = getattr(model.layers[-1], "activation", None) if model.layers else None
    return activation is keras.activations.softmax or getattr(activation, "__name__", "") == "softmax"


def _check_input_shape(model, x):
    """Refuses a model whose input does not fit the examples (Keras would say so deep inside ``fit``)."""
    expected = _example_shape_mismatch(model, x.shape) if hasattr(x, "shape") else None  # several inputs: Keras
    if expected is not None:
        raise ValueError(f"the model built from params takes examples of shape {expected}, but the training "
                         f"data has {tuple(x.shape[1:])}")


def _positive_param(params, name, default, whole):
    """``params[name]`` (or ``default``) checked to be a positive number, a whole one when ``whole``."""
    value = params.get(name, default)
    ok = (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
          and value > 0 and (not whole or value == int(value)))
    if not ok:
        kind = "a positive whole number" if whole else "a positive number"
        raise ValueError(f"params[{name!r}] must be {kind}; received {value!r}")
    return int(value) if whole else float(value)


class KerasObjective:
    """The callable that :func:`keras_objective` returns (picklable, so it runs on workers too)."""

    def __init__(self, build_model, data, epochs, batch_size, metric, seed, verbose):
        self.build_model = build_model
        self.train, self.validation = _splits(data)
        self.epochs, self.batch_size, self.metric, self.seed, self.verbose = epochs, batch_size, metric, seed, verbose

    def __call__(self, params, trial=None):
        keras.backend.clear_session()  # frees the previous trial's graphs: memory stays flat over many trials
        # Seeding resets Python's random and NumPy's global generator, which the search itself (DEAP) draws
        # from: the trial runs seeded, then the search's streams continue from where they were.
        python_state, numpy_state = random.getstate(), np.random.get_state()
        try:
            if self.seed is not None:
                keras.utils.set_random_seed(self.seed)
            return self._train(params, trial)
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)

    def _train(self, params, trial):
        epochs = _positive_param(params, "epochs", self.epochs, whole=True)
        batch_size = _positive_param(params, "batch_size", self.batch_size, whole=True)
        model = self.build_model(params)
        _check_input_shape(model, self.train[0])
        if not getattr(model, "compiled", False):
            learning_rate = _positive_param(params, "learning_rate", 1e-3, whole=False)
            model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=not _ends_in_softmax(model)),
                          metrics=["accuracy"])
        reporter = _Reporter(trial, self.metric)
        model.fit(*self.train, validation_data=self.validation, epochs=epochs, batch_size=batch_size,
                  verbose=self.verbose, callbacks=[reporter])
        if reporter.pruned:
            raise TrialPruned(f"pruned after epoch {reporter.last_epoch}")
        return reporter.last_score


class _Reporter(keras.callbacks.Callback):
    """A Keras callback that reports each epoch's validation score to the trial and stops when pruned."""

    def __init__(self, trial, metric):
        super().__init__()
        self.trial, self.metric = trial, metric
        self.pruned, self.last_score, self.last_epoch = False, float("nan"), None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        score = logs.get("val_accuracy", math.nan) if self.metric == "accuracy" else -logs.get("val_loss", math.nan)
        self.last_score, self.last_epoch = float(score), epoch
        if self.trial is not None:
            self.trial.report(epoch, self.last_score)
            if self.trial.should_prune():
                self.pruned = True
                self.model.stop_training = True


def keras_objective(build_model, data, *, epochs=5, batch_size=32, metric="accuracy", seed=None, verbose=0):
    """Makes an objective that builds a model from params, trains it on train, and scores it on validation.

    ``build_model(params)`` returns a Keras model. If it is not compiled, it
    is compiled with Adam at ``params["learning_rate"]`` (default 1e-3) and
    sparse categorical cross-entropy (from logits unless the model ends in
    softmax). ``params["batch_size"]`` and ``params["epochs"]``, when
    present, override the defaults (a trial whose value is not a positive
    number, whole for these two, fails with a ``ValueError`` naming it).
    After every epoch the validation score
    is reported to the trial, so pruners can stop hopeless trials early.
    Each call starts with ``keras.backend.clear_session()``. TensorFlow still
    keeps about 4.5 MB per training (``benchmarks/search_memory.py``); for
    thousands of trials run them on
    ``evolab.parallel.ProcessMap(n, max_tasks_per_child=50)``, whose fresh
    workers give that memory back.

    Args:
        build_model: ``build_model(params) -> keras.Model``.
        data: an object with ``.train`` and ``.validation`` ``(x, y)`` pairs
            (such as ``evolab.data.load_digits()``), or ``(train, validation)``.
        epochs: training epochs per trial (default 5).
        batch_size: the training batch size (default 32).
        metric: ``"accuracy"`` (validation accuracy, default) or ``"neg_loss"``
            (minus the validation loss); higher is better either way.
        seed: if set, each trial starts from this seed (same params, same score on CPU).
        verbose: Keras ``fit`` verbosity (default 0).

    Returns:
        An objective ``f(params, trial=None) -> float``.

    Example:
        >>> data = evolab.data.load_digits()
        >>> def build(params):
        ...     return evolab.search.build_mlp([{"units": params["units"]}], data.input_shape, 10)
        >>> objective = evolab.search.keras_objective(build, data, epochs=3, seed=0)
        >>> result = evolab.search.random_search(objective, {"units": Integer(8, 128),
        ...     "learning_rate": Real(1e-4, 1e-1, log=True)}, n_trials=10, seed=0)

    Introduced in 04_bayesian_optimization.ipynb.
    """
    if not callable(build_model):
        raise ValueError(f"build_model must be callable as build_model(params) -> keras.Model; received {build_model!r}")
    if metric not in ("accuracy", "neg_loss"):
        raise ValueError(f"metric must be 'accuracy' or 'neg_loss'; received {metric!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int; received {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; received {batch_size!r}")
    return KerasObjective(build_model, data, epochs, batch_size, metric, seed, verbose)


def build_mlp(layers, input_shape, num_classes=10, output_activation="softmax"):
    """A Keras MLP from layer specs, as architecture search evolves them.

    Args:
        layers: a list of dicts with ``units`` and optional ``activation``
            (default ``"relu"``) and ``dropout`` (default 0).
        input_shape: the shape of one example, e.g. ``(64,)``.
        num_classes: output units (default 10).
        output_activation: ``"softmax"`` (default) or ``None`` for logits.

    Returns:
        An uncompiled ``keras.Sequential``.

    Example:
        >>> model = evolab.search.build_mlp([{"units": 32, "dropout": 0.1}], (64,), 10)

    Introduced in 08_evolving_architectures.ipynb.
    """
    model = keras.Sequential([keras.Input(shape=tuple(input_shape))])
    if len(tuple(input_shape)) > 1:
        model.add(keras.layers.Flatten())
    for spec in layers:
        model.add(keras.layers.Dense(int(spec["units"]), activation=spec.get("activation", "relu")))
        if spec.get("dropout", 0.0):
            model.add(keras.layers.Dropout(float(spec["dropout"])))
    model.add(keras.layers.Dense(num_classes, activation=output_activation))
    return model
