"""Neuroevolution: evolve a Keras network's weights with an ask/tell strategy.

One generation of :func:`neuroevolve`:

1. ``population = strategy.ask()``: a ``(population_size, num_params)`` array;
2. ``fitness = evaluator(population)``: every individual scored in one batched
   pass on a fresh training mini-batch (:class:`evolab.PopulationEvaluator`);
3. ``strategy.tell(fitness)``;
4. the strategy's current best guess (``strategy.center``) is scored on the
   validation split; the best one so far is what the run returns.

With ``strategy="lowrank_es"`` steps 1-3 are one compiled function on the
backend instead (:class:`evolab.strategies.CompiledGeneration`): only the
scores come back each generation, and the center when it is validated.

The test split, if given, is scored once, at the very end.

Introduced in 10_neuroevolution_at_scale.ipynb.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import checkpoint as checkpoints
from .callbacks import CallbackList, ProgressBar
from .fitness import PopulationEvaluator, _example_shape_mismatch, _labels, _num_outputs, evaluate_parameters
from .strategies import STRATEGIES, Strategy, get_strategy, hyperparameter_names
from .strategies.schedules import describe
from .weights import ParameterLayout, get_parameters, set_parameters

__all__ = ["neuroevolve", "NeuroevolutionResult", "HISTORY_COLUMNS"]

HISTORY_COLUMNS = ["generation", "fitness_max", "fitness_mean", "fitness_min", "val_accuracy", "best_val_accuracy",
                   "evaluations_per_second", "wall_time"]
_STATE_KEYS = ("version", "config", "generation", "strategy", "evaluator_rng", "history", "best_parameters",
               "best_val_accuracy", "wall_time")  # what save_checkpoint writes
_CHECKPOINT_VERSION = 3  # 2: the strategies package; 3: read without running code, model and data fingerprints


@dataclass
class NeuroevolutionResult:
    """What :func:`neuroevolve` returns.

    Attributes:
        best_parameters: the parameter vector with the best validation accuracy
            (the model holds these weights after the run).
        best_val_accuracy: its validation accuracy.
        history: a DataFrame with one row per generation (see ``HISTORY_COLUMNS``).
        test_accuracy: accuracy on the test split, computed once at the end
            (``None`` when no test split was given).
        strategy: the strategy object, ready to continue.
        num_generations: generations completed (including resumed ones).
        stopped: ``"completed"``, ``"callback"`` (a callback asked to stop) or
            ``"interrupted"`` (KeyboardInterrupt).
    """

    best_parameters: np.ndarray
    best_val_accuracy: float
    history: pd.DataFrame
    test_accuracy: float | None
    strategy: object
    num_generations: int
    stopped: str = "completed"
    config: dict = field(default_factory=dict)

    def __repr__(self):
        test = "not measured" if self.test_accuracy is None else f"{self.test_accuracy:.4f}"
        return (f"NeuroevolutionResult(strategy={self.config.get('strategy')!r}, generations={self.num_generations}, "
                f"best_val_accuracy={self.best_val_accuracy:.4f}, test_accuracy={test}, stopped={self.stopped!r})")


def _check_pair(name, pair, model):
    """An (x, y) split, checked before the first generation: sizes, example shape, and labels the model can score."""
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"{name} must be an (x, y) pair; received {type(pair).__name__}")
    x, y = np.asarray(pair[0]), np.asarray(pair[1])
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError(f"{name}: x holds NaN or infinite values (e.g. at example "
                         f"{int(np.argwhere(~np.isfinite(x))[0][0])}); every individual would score NaN.")
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y) or len(x) == 0:
        raise ValueError(f"{name}: x and y must hold the same, non-zero number of examples; "
                         f"received {len(x) if x.ndim else 'a scalar'} and {len(y) if y.ndim else 'a scalar'}")
    expected = _example_shape_mismatch(model, x.shape)
    if expected is not None:
        raise ValueError(f"{name}: x has examples of shape {x.shape[1:]}, but the model takes {expected}.")
    try:
        _labels(y, len(x), _num_outputs(model))
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    return x, y


def _check_count(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; received {value!r}")
    return int(value)


def _compiled_generation(wanted, strategy, evaluator):
    """A :class:`CompiledGeneration` where ``wanted`` (True / None: wherever it can run), else None."""
    from .strategies.compiled import CompiledGeneration

    if wanted not in (None, True, False):
        raise ValueError(f"compiled_generation must be None, True or False; received {wanted!r}")
    if wanted is False:
        return None
    try:
        return CompiledGeneration(strategy, evaluator)
    except ValueError:
        if wanted:
            raise
        return None


def _fingerprint(x, y):
    """A cheap fingerprint of a data split: shapes, dtypes and a hash of up to 256 rows spread over it."""
    rows = np.unique(np.linspace(0, len(x) - 1, num=min(len(x), 256)).astype(int))
    digest = hashlib.sha1(np.ascontiguousarray(x[rows]).tobytes() + np.ascontiguousarray(y[rows]).tobytes())
    return f"{x.shape} {x.dtype} {y.shape} {y.dtype} {digest.hexdigest()[:16]}"


def _architecture(model):
    """The layers (kind, activation) and variable shapes: what a checkpoint's weights belong to."""
    layers = [f"{type(layer).__name__}({getattr(getattr(layer, 'activation', None), '__name__', '')})"
              for layer in model.layers]
    return " ".join(layers) + " | " + " ".join(str(tuple(v.shape)) for v in model.trainable_variables)


class _Snapshot:
    """What a generation changes, taken at its start: an interrupt before its record is written rolls back to it,
    so the checkpoint written on a Stop is the state between two generations (and resumes exactly)."""

    def __init__(self, strategy, evaluator, engine, best):
        self.strategy, self.evaluator, self.engine, self.best = strategy, evaluator, engine, best
        self.generation = strategy.generation
        if engine is not None:
            self.device_state = engine._state  # immutable backend tensors: a reference is enough
        else:
            self.state = strategy.state_dict()
        self.rng = evaluator._rng.bit_generator.state

    def restore(self):
        if self.engine is not None:
            self.engine._state, self.strategy.generation = self.device_state, self.generation
            self.engine.sync()
        else:
            self.strategy.load_state_dict(self.state)
        self.evaluator._rng.bit_generator.state = self.rng
        return self.best


def neuroevolve(model, train, validation, test=None, *, strategy="openai_es", population_size=64,
                num_generations=100, batch_size=256, seed=0, fitness_metric="neg_loss", callbacks=None,
                checkpoint=None, checkpoint_every=10, resume=False, overwrite=False, validation_every=1,
                progress_bar=True, population_chunk=None, compiled_generation=None, **strategy_options):
    """Evolves the trainable weights of ``model`` (no gradients anywhere).

    Args:
        model: a built Keras model; its current weights are the starting point
            (``strategy.center``), and it holds the best weights at the end.
        train, validation: ``(x, y)`` pairs. Fitness is measured on training
            mini-batches, selection of the returned parameters on validation.
        test: an optional ``(x, y)`` pair, scored once at the end.
        strategy: a name from :data:`evolab.strategies.STRATEGIES` (``"ga"``,
            ``"openai_es"``, ``"pgpe"``, ``"snes"``, ``"lowrank_es"``) or a
            :class:`evolab.strategies.Strategy` instance. ``"lowrank_es"``
            receives the model's variable shapes itself.
        population_size: individuals per generation.
        num_generations: total generations (a resumed run continues up to this number).
        batch_size: training examples drawn afresh each generation (``None``: all).
        seed: seeds the strategy and the mini-batch draws (same seed, same run on CPU).
        fitness_metric: ``"neg_loss"`` (default: smooth, what ES needs),
            ``"accuracy"``, or a callable ``metric(y_true, y_pred)``.
        callbacks: a list of :class:`evolab.callbacks.Callback` (live plot, early stopping...).
        checkpoint: a file path; the full state (strategy, random generators,
            history, best-so-far) is written there atomically every
            ``checkpoint_every`` generations, at the end, and on a Stop
            (KeyboardInterrupt: the generation in progress is rolled back, so
            the file always holds the state between two generations). It is
            read back without running code (:mod:`evolab.checkpoint`).
        checkpoint_every: generations between checkpoints.
        resume: continue from ``checkpoint`` if it exists (the same seed and
            settings then give the same result as an uninterrupted run). A
            checkpoint of another model, other data, strategy, options or
            metric is refused, naming what differs.
        overwrite: start afresh over an existing ``checkpoint`` (without it,
            and without ``resume``, an existing checkpoint is an error: a
            re-run cell never destroys a long run).
        validation_every: generations between validation scores.
        progress_bar: show a ``tqdm`` progress bar.
        population_chunk: individuals per batched pass (``None``: chosen from memory).
        compiled_generation: run each generation as one compiled function on
            the backend (:class:`evolab.strategies.CompiledGeneration`: noise,
            mini-batch, scores and update never leave the device). ``None``
            (default): wherever it can (``"lowrank_es"``, or ``"openai_es"``
            with ``noise="table"``, and a built-in metric); ``True``: required (an error says why it cannot);
            ``False``: ask / evaluate / tell from Python. The two modes draw
            the same noise but different mini-batches, so each is reproducible
            on its own, and a checkpoint resumes only in the mode that wrote it.
        **strategy_options: hyperparameters for a strategy given by name.
            Every evolution strategy (``"openai_es"``, ``"pgpe"``, ``"snes"``,
            ``"lowrank_es"``) takes ``sigma=`` (its initial noise scale) and ``learning_rate=``
            (the center's step size); ``"openai_es"`` also takes ``noise="table"``
            (a shared noise table, Salimans et al. 2017: the generation runs compiled); the GA takes ``mutation_rate=``,
            ``mutation_sigma=``, ``crossover_rate=`` and ``initial_spread=``.

    Returns:
        A :class:`NeuroevolutionResult`.

    Raises:
        ValueError: for bad arguments, or a checkpoint written by a different set-up.

    Example:
        >>> data = evolab.data.load_digits()
        >>> model = evolab.models.mlp(data.input_shape)
        >>> result = evolab.neuroevolve(model, data.train, data.validation, data.test,
        ...                             strategy="pgpe", num_generations=200, sigma=0.05, learning_rate=0.03)
    """
    x_train, y_train = _check_pair("train", train, model)
    x_val, y_val = _check_pair("validation", validation, model)
    test_pair = None if test is None else _check_pair("test", test, model)
    population_size = _check_count("population_size", population_size, 2)
    num_generations = _check_count("num_generations", num_generations)
    checkpoint_every = _check_count("checkpoint_every", checkpoint_every)
    validation_every = _check_count("validation_every", validation_every)
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=PATH (the file to resume from)")
    if resume and overwrite:
        raise ValueError("resume=True and overwrite=True contradict each other: choose one")
    seed = _check_count("seed", seed, 0)

    initial = get_parameters(model)
    if isinstance(strategy, str) and "layer_shapes" in hyperparameter_names(STRATEGIES.get(strategy.lower(), Strategy)):
        strategy_options.setdefault("layer_shapes", ParameterLayout.from_model(model).shapes)  # a low-rank strategy
    strategy = get_strategy(strategy, initial.size, population_size, center=initial, seed=seed, **strategy_options)
    strategy_name = strategy.name
    config = {"strategy": strategy_name, "population_size": population_size, "num_params": int(initial.size),
              "batch_size": batch_size, "seed": seed, "fitness_metric": describe(fitness_metric),
              "validation_every": validation_every, "model": _architecture(model),
              "train": _fingerprint(x_train, y_train), "validation": _fingerprint(x_val, y_val)}

    evaluator = PopulationEvaluator(model, x_train, y_train, metric=fitness_metric, batch_size=batch_size,
                                    population_chunk=population_chunk, seed=seed)
    engine = _compiled_generation(compiled_generation, strategy, evaluator)
    config["compiled_generation"] = engine is not None
    records, best_parameters, best_val, start_generation, elapsed_before = [], initial.copy(), -np.inf, 0, 0.0

    path = Path(checkpoint) if checkpoint is not None else None
    with checkpoints.holding(path, resume=resume, overwrite=overwrite):  # checked now: a bad path fails before work
        if resume and path.exists():
            state = checkpoints.load(path)
            _check_resumable(state, config, num_generations, path)
            try:
                strategy.load_state_dict(state["strategy"])
            except ValueError as error:  # other strategy options (named), or a state of another kind
                raise ValueError(f"Checkpoint {path} was written by a different set-up: {error} Or start afresh "
                                 "with overwrite=True.") from None
            except (KeyError, TypeError, AttributeError) as error:
                raise checkpoints.CheckpointError(f"checkpoint {str(path)!r} is damaged: its strategy state cannot be "
                                                  f"read ({type(error).__name__}: {error}).") from None
            if engine is not None:
                engine.load()
            evaluator._rng.bit_generator.state = state["evaluator_rng"]
            records, best_parameters, best_val = state["history"], state["best_parameters"], state["best_val_accuracy"]
            start_generation, elapsed_before = state["generation"], state["wall_time"]

        def save_checkpoint(generation):
            if path is not None:
                if engine is not None:
                    engine.sync()
                checkpoints.save(path, {
                    "version": _CHECKPOINT_VERSION, "config": config, "generation": generation,
                    "strategy": strategy.state_dict(), "evaluator_rng": evaluator._rng.bit_generator.state,
                    "history": records, "best_parameters": best_parameters, "best_val_accuracy": best_val,
                    "wall_time": elapsed_before + (time.perf_counter() - started)})

        callback_list = CallbackList(list(callbacks or []) + ([ProgressBar()] if progress_bar else []))
        callback_list.on_run_begin({"kind": "neuroevolution", "step_name": "generation",
                                    "total_steps": num_generations, "initial_step": start_generation, "config": config})
        started = time.perf_counter()
        stopped = "completed"
        validation_accuracy = float("nan")
        snapshot = None
        try:
            for generation in range(start_generation, num_generations):
                if path is not None:  # what this generation changes, for a Stop before its record is written
                    snapshot = _Snapshot(strategy, evaluator, engine, (best_val, best_parameters))
                step_start = time.perf_counter()
                if engine is not None:
                    fitness = engine.step()
                else:
                    population = strategy.ask()
                    fitness = evaluator(population)
                    strategy.tell(fitness)
                eval_seconds = time.perf_counter() - step_start
                if not np.isfinite(fitness).any():
                    raise ValueError(f"Generation {generation + 1}: every individual scored NaN or infinity, so the "
                                     "run stops (the strategy did not move). Check the model's outputs and the "
                                     "fitness metric.")
                if (generation + 1) % validation_every == 0 or generation + 1 == num_generations:
                    if engine is not None:
                        engine.sync(center_only=True)  # the rest at a checkpoint and at the end
                    center = strategy.center
                    validation_accuracy = evaluate_parameters(model, center, x_val, y_val, "accuracy")
                    if validation_accuracy > best_val:
                        best_val, best_parameters = validation_accuracy, center
                finite = fitness[np.isfinite(fitness)]
                logs = {
                    "generation": generation + 1,
                    "fitness_max": float(finite.max()) if finite.size else float("nan"),
                    "fitness_mean": float(finite.mean()) if finite.size else float("nan"),
                    "fitness_min": float(finite.min()) if finite.size else float("nan"),
                    "val_accuracy": float(validation_accuracy),
                    "best_val_accuracy": float(best_val),
                    "evaluations_per_second": population_size / max(eval_seconds, 1e-9),
                    "wall_time": elapsed_before + time.perf_counter() - started,
                }
                records.append(logs)
                snapshot = None  # the generation is recorded: nothing to roll back from here on
                if (generation + 1) % checkpoint_every == 0:
                    save_checkpoint(generation + 1)
                callback_list.on_step_end(generation, logs)
                if callback_list.stop_requested:
                    stopped = "callback"
                    break
        except KeyboardInterrupt:  # the Stop button of a notebook: keep everything up to the last whole generation
            stopped = "interrupted"
            if snapshot is not None:
                best_val, best_parameters = snapshot.restore()
        completed = len(records)
        if engine is not None:
            engine.sync()
        save_checkpoint(completed)

    set_parameters(model, best_parameters)
    test_accuracy = None
    if test_pair is not None:
        test_accuracy = evaluate_parameters(model, best_parameters, *test_pair, "accuracy")
    history = pd.DataFrame.from_records(records, columns=HISTORY_COLUMNS)
    result = NeuroevolutionResult(best_parameters=np.asarray(best_parameters, np.float32),
                                  best_val_accuracy=float(best_val), history=history, test_accuracy=test_accuracy,
                                  strategy=strategy, num_generations=completed, stopped=stopped, config=config)
    callback_list.on_run_end({"best_val_accuracy": float(best_val), "test_accuracy": test_accuracy,
                              "num_generations": completed, "stopped": stopped})
    return result


def _check_resumable(state, config, num_generations, path):
    """Refuses a checkpoint this run cannot continue, naming what differs."""
    if not isinstance(state, dict) or "config" not in state or "strategy" not in state:
        raise checkpoints.CheckpointError(f"checkpoint {str(path)!r} is not a neuroevolve checkpoint.")
    if state.get("version") != _CHECKPOINT_VERSION:
        raise checkpoints.CheckpointError(
            f"checkpoint {str(path)!r} was written by another version of evolab's neuroevolve (format "
            f"{state.get('version')}, this one writes {_CHECKPOINT_VERSION}); start afresh with overwrite=True.")
    missing = sorted(set(_STATE_KEYS) - set(state))
    if missing:
        raise checkpoints.CheckpointError(f"checkpoint {str(path)!r} is damaged: it lacks {missing}; delete it, or "
                                          "start afresh with overwrite=True.")
    saved = state["config"] if isinstance(state["config"], dict) else {}
    differ = sorted(key for key in set(config) | set(saved) if config.get(key) != saved.get(key))
    if differ:
        details = "; ".join(f"{key}: checkpoint {saved.get(key)!r}, this run {config.get(key)!r}" for key in differ)
        raise ValueError(f"Checkpoint {path} was written by a different set-up ({details}). Resume with the same "
                         "model, data and settings, or start afresh with overwrite=True.")
    if state["generation"] > num_generations:
        raise ValueError(f"Checkpoint {path} holds {state['generation']} generations, more than "
                         f"num_generations={num_generations}: ask for at least that many to resume it.")
