"""The callback protocol shared by every long-running evolab call.

Both engines, :func:`evolab.neuroevolve` and the methods in
:mod:`evolab.search`, report progress the same way, so a progress bar, a live
plot or a widget's Stop button works for all of them.

A run calls, in order:

* ``on_run_begin(run)`` once. ``run`` is a dict with at least ``"kind"``
  (``"neuroevolution"`` or ``"search"``), ``"step_name"`` (``"generation"`` or
  ``"trial"``) and ``"total_steps"`` (an int, or ``None`` when unknown).
* ``on_step_end(step, logs)`` after every generation or trial. ``step`` counts
  from 0; ``logs`` is a flat dict of numbers (and, for searches, the trial's
  ``status`` and ``params``). Neuroevolution logs hold ``fitness_max``,
  ``fitness_mean``, ``fitness_min``, ``val_accuracy``,
  ``evaluations_per_second`` and ``wall_time``; search logs hold ``score``,
  ``best_score``, ``status``, ``duration`` and ``wall_time``.
* ``on_run_end(logs)`` once, also after an interruption.

A callback asks the run to stop by calling :meth:`Callback.request_stop`; the
run finishes the current step, keeps its best-so-far and returns normally.

Introduced in 09_neuroevolution_the_hard_way.ipynb and 02_grid_search.ipynb.
"""

from __future__ import annotations

import math
import threading
import warnings

__all__ = ["Callback", "CallbackList", "ProgressBar", "EarlyStopping", "LambdaCallback", "TimeLimit"]


class Callback:
    """Base class for callbacks; override the hooks you need.

    Example:
        >>> class PrintBest(Callback):
        ...     def on_step_end(self, step, logs):
        ...         print(step, logs.get("fitness_max"))
    """

    def __init__(self):
        self._stop_event = threading.Event()

    @property
    def stop_requested(self) -> bool:
        """True once :meth:`request_stop` was called (thread-safe)."""
        event = getattr(self, "_stop_event", None)
        return bool(event and event.is_set())

    def request_stop(self) -> None:
        """Ask the run to stop after the current step (safe from any thread)."""
        if getattr(self, "_stop_event", None) is None:
            self._stop_event = threading.Event()
        self._stop_event.set()

    def reset_stop(self) -> None:
        """Clear an earlier stop request (a panel calls this before a new run)."""
        if getattr(self, "_stop_event", None) is not None:
            self._stop_event.clear()

    def on_run_begin(self, run: dict) -> None:
        """Called once before the first step."""

    def on_step_end(self, step: int, logs: dict) -> None:
        """Called after every generation or trial."""

    def on_run_end(self, logs: dict) -> None:
        """Called once at the end, also after a stop or an interruption."""


class CallbackList(Callback):
    """Dispatches every hook to a list of callbacks (``None`` means none).

    Args:
        callbacks: an iterable of :class:`Callback` objects, or ``None``.

    Raises:
        ValueError: when an item is not a :class:`Callback`.
    """

    def __init__(self, callbacks=None):
        super().__init__()
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise ValueError(
                    "callbacks must be evolab.callbacks.Callback instances; "
                    f"received {type(cb).__name__}: {cb!r}"
                )

    @property
    def stop_requested(self) -> bool:
        return super().stop_requested or any(cb.stop_requested for cb in self.callbacks)

    def on_run_begin(self, run):
        for cb in self.callbacks:
            cb.on_run_begin(run)

    def on_step_end(self, step, logs):
        for cb in self.callbacks:
            cb.on_step_end(step, logs)

    def on_run_end(self, logs):
        for cb in self.callbacks:
            cb.on_run_end(logs)


class LambdaCallback(Callback):
    """A callback from plain functions, for one-off needs in a lesson.

    Args:
        on_run_begin, on_step_end, on_run_end: optional functions with the
            hooks' signatures.
    """

    def __init__(self, on_run_begin=None, on_step_end=None, on_run_end=None):
        super().__init__()
        self._begin, self._step, self._end = on_run_begin, on_step_end, on_run_end

    def on_run_begin(self, run):
        if self._begin:
            self._begin(run)

    def on_step_end(self, step, logs):
        if self._step:
            self._step(step, logs)

    def on_run_end(self, logs):
        if self._end:
            self._end(logs)


class ProgressBar(Callback):
    """A ``tqdm.auto`` progress bar showing the latest metrics.

    Args:
        metrics: the log keys to show beside the bar (default: the engine's
            headline numbers, ``fitness_max``/``val_accuracy`` or
            ``best_score``).
        leave: keep the bar on screen when the run ends.
    """

    def __init__(self, metrics=None, leave=True):
        super().__init__()
        self.metrics = metrics
        self.leave = leave
        self._bar = None

    def on_run_begin(self, run):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=run.get("total_steps"), unit=run.get("step_name", "step"),
                         leave=self.leave, dynamic_ncols=True)
        if self.metrics is None:
            self.metrics = (["fitness_max", "val_accuracy"] if run.get("kind") == "neuroevolution"
                            else ["score", "best_score"])

    def on_step_end(self, step, logs):
        if self._bar is None:
            return
        shown = {k: f"{logs[k]:.4g}" for k in self.metrics
                 if isinstance(logs.get(k), (int, float)) and math.isfinite(logs[k])}
        self._bar.set_postfix(shown, refresh=False)
        self._bar.update(1)

    def on_run_end(self, logs):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class EarlyStopping(Callback):
    """Stops a run when a monitored number has not improved for a while.

    Args:
        monitor: the log key to watch (default ``"val_accuracy"``).
        patience: how many steps without improvement to allow.
        min_delta: the smallest change that counts as an improvement.
        mode: ``"max"`` (higher is better, evolab's convention) or ``"min"``.

    A ``monitor`` key that the run's logs do not have warns once, naming the
    keys they do have (a search logs ``score``; ``neuroevolve`` logs
    ``val_accuracy``, ``fitness_max``...), as Keras's own EarlyStopping does.

    Raises:
        ValueError: for a negative patience or an unknown mode.
    """

    def __init__(self, monitor="val_accuracy", patience=20, min_delta=0.0, mode="max"):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min'; received {mode!r}")
        if int(patience) < 0:
            raise ValueError(f"patience must be >= 0; received {patience!r}")
        self.monitor, self.patience, self.min_delta, self.mode = monitor, int(patience), float(min_delta), mode
        self.best = None
        self.wait = 0
        self.stopped_step = None
        self._warned = False

    def on_run_begin(self, run):
        self.best, self.wait, self.stopped_step, self._warned = None, 0, None, False
        self.reset_stop()

    def on_step_end(self, step, logs):
        if self.monitor not in logs and not self._warned:
            self._warned = True
            warnings.warn(f"EarlyStopping(monitor={self.monitor!r}): the run's logs have no such key, so it will "
                          f"never stop the run; the keys are {sorted(logs)}", stacklevel=2)
        value = logs.get(self.monitor)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return
        sign = 1.0 if self.mode == "max" else -1.0
        if self.best is None or sign * (value - self.best) > self.min_delta:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_step = step
            self.request_stop()


class TimeLimit(Callback):
    """Stops a run once ``seconds`` of wall time have passed (checked after each step).

    Args:
        seconds: the time budget, a positive number.

    Raises:
        ValueError: for a non-positive budget.
    """

    def __init__(self, seconds):
        super().__init__()
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds <= 0:
            raise ValueError(f"seconds must be a positive number; received {seconds!r}")
        self.seconds = float(seconds)
        self._start = None

    def on_run_begin(self, run):
        import time

        self._start = time.perf_counter()
        self.reset_stop()

    def on_step_end(self, step, logs):
        import time

        if self._start is not None and time.perf_counter() - self._start >= self.seconds:
            self.request_stop()
