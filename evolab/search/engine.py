"""The loop every search method shares: run trials, record them, keep budgets, talk to callbacks.

A method only decides *which* params to try next; it hands them to
:meth:`Search.evaluate`, which runs them (here or on workers), records each
trial (score, status, error, timing, worker), reports to callbacks, and
raises an internal stop signal when the budget, the time limit or a
callback says so. ``with Search(...) as search:`` turns that signal, and a
KeyboardInterrupt, into a normal return with the best-so-far.

Introduced in 03_random_search.ipynb.
"""

from __future__ import annotations

import inspect
import math
import numbers
import time

import numpy as np
import pandas as pd

from ..callbacks import CallbackList
from ..parallel import SerialMap, current_worker, resolve_map
from .result import TRIAL_COLUMNS, SearchFailedError, SearchResult
from .space import as_space

__all__ = ["Trial", "TrialPruned", "SuccessiveHalvingPruner", "Search"]


class TrialPruned(Exception):
    """Raise this from an objective when ``trial.should_prune()`` says so; the trial is recorded as ``"pruned"``."""


class Trial:
    """What an objective's optional second argument receives.

    Attributes:
        number: the trial's position in the search (from 0).
        params: the params being evaluated.
        intermediate: the values reported so far, ``{step: value}``.

    Example:
        >>> def objective(params, trial):
        ...     for epoch in range(10):
        ...         accuracy = train_one_epoch(params)
        ...         trial.report(epoch, accuracy)
        ...         if trial.should_prune():
        ...             raise evolab.search.TrialPruned()
        ...     return accuracy
    """

    def __init__(self, number, params, pruner=None, history=()):
        self.number = number
        self.params = dict(params)
        self.intermediate = {}
        self._pruner = pruner
        self._history = history

    def report(self, step, value) -> None:
        """Records an intermediate value (higher is better) at an integer step (an epoch, say)."""
        self.intermediate[int(step)] = float(value)

    def should_prune(self) -> bool:
        """True when the search's pruner judges this trial hopeless at its latest step."""
        if self._pruner is None or not self.intermediate:
            return False
        return self._pruner.should_prune(self.intermediate, self._history)


class SuccessiveHalvingPruner:
    """Successive halving: at each rung, keep only the top ``1 / reduction_factor`` of trials.

    Rungs sit at steps ``min_step * reduction_factor**k``. A trial reaching a
    rung is compared with every earlier trial's value at that rung and pruned
    when it is not in the top fraction (once at least ``reduction_factor``
    values exist there). This is the asynchronous form (ASHA): it never waits
    for a whole batch, so it works with parallel workers too.

    Args:
        min_step: the first rung (default 1).
        reduction_factor: how aggressively to cut (default 3: keep a third).

    Introduced in 03_random_search.ipynb.
    """

    def __init__(self, min_step=1, reduction_factor=3):
        if not isinstance(min_step, int) or min_step < 0:
            raise ValueError(f"min_step must be an int >= 0; received {min_step!r}")
        if not isinstance(reduction_factor, int) or reduction_factor < 2:
            raise ValueError(f"reduction_factor must be an int >= 2; received {reduction_factor!r}")
        self.min_step, self.reduction_factor = min_step, reduction_factor

    def is_rung(self, step) -> bool:
        step, rung = int(step), self.min_step
        while rung < step:
            rung = rung * self.reduction_factor if rung > 0 else 1
        return rung == step

    def should_prune(self, intermediate, history) -> bool:
        step = max(intermediate)
        if not self.is_rung(step):
            return False
        value = intermediate[step]
        values = [h[step] for h in history if step in h] + [value]
        if len(values) < self.reduction_factor:
            return False
        keep = max(1, len(values) // self.reduction_factor)
        return value < sorted(values, reverse=True)[keep - 1]

    def __repr__(self):
        return f"SuccessiveHalvingPruner(min_step={self.min_step}, reduction_factor={self.reduction_factor})"


def accepts_trial(objective) -> bool:
    """True when ``objective`` can take a second positional argument (the trial)."""
    try:
        signature = inspect.signature(objective)
    except (TypeError, ValueError):
        return False
    parameters = list(signature.parameters.values())
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in parameters)


def _as_values(value, objective_names):
    """The objective's return value as a float (one objective) or a tuple of floats (several)."""
    if objective_names is None:
        if hasattr(value, "numpy"):  # a backend tensor
            value = value.numpy()
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.item()
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise TypeError(f"the objective must return a number; received {type(value).__name__}: {value!r}")
        return float(value)
    if isinstance(value, dict):
        missing = [name for name in objective_names if name not in value]
        if missing:
            raise TypeError(f"the objective's dict lacks {missing}; expected keys {objective_names}")
        value = tuple(value[name] for name in objective_names)
    if not isinstance(value, (tuple, list)) or len(value) != len(objective_names):
        raise TypeError(f"the objective must return {len(objective_names)} values {objective_names} "
                        f"(a tuple or a dict); received {value!r}")
    return tuple(float(v) for v in value)


def run_trial(job) -> dict:
    """Evaluates one trial and returns its record; runs in the worker (must stay a module-level function).

    Exceptions (and NaN) become a ``"failed"`` record with the message;
    KeyboardInterrupt passes through so the search can stop.
    """
    objective, trial, pass_trial, objective_names = job
    start = time.time()
    score, values, status, error = float("nan"), None, "ok", None
    try:
        raw = objective(dict(trial.params), trial) if pass_trial else objective(dict(trial.params))
        values = _as_values(raw, objective_names)
        score = values if objective_names is None else values[0]
        if any(math.isnan(v) for v in np.atleast_1d(values)):
            status, error = "failed", "the objective returned NaN"
    except TrialPruned:
        status = "pruned"
        score = trial.intermediate[max(trial.intermediate)] if trial.intermediate else float("nan")
    except Exception as exc:  # noqa: BLE001 - a failed trial must not end the search
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    end = time.time()
    return {"number": trial.number, "params": dict(trial.params), "score": float(score),
            "values": values if objective_names is not None else None, "status": status, "error": error,
            "start": start, "end": end, "duration": end - start, "worker": current_worker(),
            "intermediate": dict(trial.intermediate)}


class _Stop(Exception):
    """Internal: the budget, time limit or a callback ended the search."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Search:
    """One search run: budgets, trial records, callbacks and the worker pool.

    Args:
        objective: ``objective(params)`` or ``objective(params, trial)``, higher is better.
        space: a :class:`SearchSpace` or a dict of dimensions (``None`` for
            architecture search, whose params are not a space's points).
        method: the method's name (for the result and the callbacks).
        n_trials: the evaluation budget (``None``: no limit, then ``timeout`` is needed).
        timeout: seconds; no new trial starts after this.
        callbacks: a list of :class:`evolab.callbacks.Callback`.
        map, n_workers: where trials run (see :func:`evolab.parallel.resolve_map`).
        pruner: a :class:`SuccessiveHalvingPruner` or ``None``.
        objective_names: several objectives' names (NSGA-II); ``None`` for one objective.
        first_sign: +1 or -1; with several objectives the ``score`` column is
            ``first_sign`` times the first objective, so higher is better.
        param_names: the params columns when ``space`` is ``None``.
    """

    def __init__(self, objective, space, method, *, n_trials=None, timeout=None, callbacks=None, map=None,
                 n_workers=None, pruner=None, objective_names=None, first_sign=1.0, param_names=None):
        if not callable(objective):
            raise ValueError(f"objective must be callable as objective(params) -> float; received {objective!r}")
        if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, numbers.Integral)
                                     or n_trials < 1):
            raise ValueError(f"n_trials must be a positive int; received {n_trials!r}")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, numbers.Real)
                                    or not math.isfinite(timeout) or timeout <= 0):
            raise ValueError(f"timeout must be a positive number of seconds; received {timeout!r}")
        if n_trials is None and timeout is None:
            raise ValueError("give a budget: n_trials= (evaluations) and/or timeout= (seconds); received neither")
        self.objective = objective
        self.space = as_space(space) if space is not None else None
        self.param_names = self.space.names if self.space is not None else list(param_names)
        self.method = method
        self.n_trials = None if n_trials is None else int(n_trials)
        self.timeout = timeout
        self.callbacks = CallbackList(callbacks)
        self.pruner = pruner
        self.objective_names = None if objective_names is None else list(objective_names)
        self.first_sign = float(first_sign)
        self._map_args = (map, n_workers)
        self._pass_trial = accepts_trial(objective)
        self.records, self._replay = [], []
        self.best_score = float("nan")
        self.interrupted = False
        self.stopped_by = None
        self._started = None

    # --- the with-block ----------------------------------------------------------
    def __enter__(self):
        self.map, self._owns_map = resolve_map(*self._map_args)
        self.serial = type(self.map) is SerialMap and self.map.timeout is None  # a time limit goes through map()
        self._started = time.time()
        self.callbacks.on_run_begin({"kind": "search", "step_name": "trial", "total_steps": self.n_trials,
                                     "method": self.method})
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is KeyboardInterrupt:
            self.interrupted, self.stopped_by = True, "interrupt"
        elif exc_type is _Stop:
            self.stopped_by = exc.reason
        elif exc_type is None:
            self.stopped_by = self.stopped_by or "exhausted"
        if self._owns_map:
            self.map.close()
        self.callbacks.on_run_end({"best_score": self.best_score, "best_params": self._best_params(),
                                   "num_trials": len(self.records), "wall_time": self.wall_time(),
                                   "stopped_by": self.stopped_by})
        return exc_type in (KeyboardInterrupt, _Stop)

    # --- budgets -----------------------------------------------------------------
    def wall_time(self) -> float:
        return time.time() - self._started if self._started else 0.0

    def remaining(self):
        """Evaluations left (``None`` when only a time limit applies)."""
        return None if self.n_trials is None else self.n_trials - len(self.records)

    def check_stop(self):
        """Raises the stop signal when the budget, time limit or a callback says so."""
        if self.n_trials is not None and len(self.records) >= self.n_trials:
            raise _Stop("budget")
        if self.timeout is not None and self.wall_time() >= self.timeout:
            raise _Stop("timeout")
        if self.callbacks.stop_requested:
            raise _Stop("callback")

    # --- running trials ----------------------------------------------------------
    def make_trial(self, params, offset=0) -> Trial:
        history = tuple(r["intermediate"] for r in self.records if r["intermediate"]) if self.pruner else ()
        return Trial(len(self.records) + offset, params, pruner=self.pruner, history=history)

    def evaluate(self, params_list, trials=None):
        """Runs the given params (in order), records them, and returns their scores.

        Returns a list with one score per params (NaN for a failed trial; a
        tuple of values for several objectives). When the budget runs out
        inside the batch, the trials that fit are run and recorded and the
        stop signal is raised; a batch that ends the budget exactly is
        returned whole (so an optimizer can learn from it and be saved), and
        the next call stops.
        """
        self.check_stop()
        params_list = list(params_list)
        replayed = []
        while self._replay and params_list and self._replay[0]["params"] == params_list[0]:
            replayed.append(self._returned(self._replay.pop(0)))  # run before a stop, recorded: not run again
            params_list.pop(0)
            if trials is not None:
                trials = trials[1:]
        if replayed:
            return replayed + (self.evaluate(params_list, trials) if params_list else [])
        cut = self.remaining() is not None and len(params_list) > self.remaining()
        if cut:
            params_list = params_list[: self.remaining()]
        if trials is None:
            trials = [self.make_trial(p, i) for i, p in enumerate(params_list)]
        jobs = [(self.objective, trial, self._pass_trial, self.objective_names) for trial in trials]
        scores = []
        if self.serial:
            for i, job in enumerate(jobs):
                if i:
                    self.check_stop()
                record = run_trial(job)
                record["worker"] = "main"
                scores.append(self._record(record))
        else:
            if hasattr(self.map, "map"):
                outcomes = self.map.map(run_trial, jobs, return_exceptions=True)
            else:
                outcomes = list(self.map(run_trial, jobs))
            for job, outcome in zip(jobs, outcomes):
                if isinstance(outcome, Exception):  # the worker itself failed (e.g. it was killed)
                    trial = job[1]
                    outcome = {"number": trial.number, "params": trial.params, "score": float("nan"),
                               "values": None, "status": "failed", "error": f"{type(outcome).__name__}: {outcome}",
                               "start": time.time(), "end": time.time(), "duration": 0.0, "worker": "lost",
                               "intermediate": dict(trial.intermediate)}
                scores.append(self._record(outcome))
        if cut:  # a batch cut short by the budget: its scores are recorded, but the caller cannot use a part
            raise _Stop("budget")
        return scores  # a batch that ends the budget exactly is returned whole (the next call stops)

    def _record(self, record):
        record["number"] = len(self.records)
        record["elapsed"] = record["end"] - self._started
        if self.objective_names is not None and record["values"] is not None:
            record["score"] = self.first_sign * record["values"][0]
        self.records.append(record)
        if record["status"] == "ok" and not record["score"] <= self.best_score:  # NaN best: first success wins
            self.best_score = record["score"]
        self.callbacks.on_step_end(record["number"], {
            "score": record["score"], "best_score": self.best_score, "status": record["status"],
            "duration": record["duration"], "wall_time": self.wall_time(), "params": record["params"],
            "error": record["error"], "number": record["number"]})
        return self._returned(record)

    def _returned(self, record):
        """What :meth:`evaluate` returns for a record: its score (NaN if failed), or its values."""
        if record["status"] == "failed":
            return float("nan") if self.objective_names is None else (float("nan"),) * len(self.objective_names)
        return record["values"] if self.objective_names is not None else record["score"]

    def restore(self, records, replay_from=None):
        """Adopts earlier trials (from a checkpoint or an Optuna study); they count towards the budget.

        ``replay_from``: the records from this index on were run but not yet learned from (a search stopped
        inside a generation); asked again in the same order, they are given back instead of run again.
        """
        self.records = [dict(r) for r in records]
        self._replay = [] if replay_from is None else self.records[replay_from:]
        ok = [r["score"] for r in self.records if r["status"] == "ok"]
        self.best_score = max(ok) if ok else float("nan")

    def _best_params(self):
        ok = [r for r in self.records if r["status"] == "ok"]
        return max(ok, key=lambda r: r["score"])["params"] if ok else None

    # --- the result --------------------------------------------------------------
    def trials_table(self) -> pd.DataFrame:
        rows = []
        for r in self.records:
            row = {name: r["params"].get(name) for name in self.param_names}
            if self.objective_names is not None:
                values = r["values"] or (float("nan"),) * len(self.objective_names)
                row.update(zip(self.objective_names, values))
            row.update({key: r[key] for key in ("number", "score", "status", "error", "duration", "elapsed",
                                                 "worker")})
            row["start"] = pd.Timestamp.fromtimestamp(r["start"])
            row["end"] = pd.Timestamp.fromtimestamp(r["end"])
            if any(rec["intermediate"] for rec in self.records):
                row["intermediate"] = r["intermediate"]
            rows.append(row)
        columns = self.param_names + (self.objective_names or []) + TRIAL_COLUMNS
        if any(rec["intermediate"] for rec in self.records):
            columns = columns + ["intermediate"]
        table = pd.DataFrame(rows, columns=columns)
        table["score"] = table["score"].astype(float)
        table["error"] = pd.Series([r["error"] for r in self.records], index=table.index, dtype=object)
        return table

    def result(self, **extra) -> SearchResult:
        """The :class:`SearchResult`; raises :class:`SearchFailedError` when every trial failed."""
        result = SearchResult(self.trials_table(), self.param_names, method=self.method,
                              interrupted=self.interrupted, stopped_by=self.stopped_by, **extra)
        statuses = {r["status"] for r in self.records}
        if statuses == {"failed"}:
            errors = list(dict.fromkeys(r["error"] for r in self.records))
            raise SearchFailedError(
                f"all {len(self.records)} trials of {self.method} failed; the first errors were: "
                + "; ".join(errors[:3]), result)
        return result
