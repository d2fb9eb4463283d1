"""``SearchResult``: what every search method returns, with save and load.

Introduced in 02_grid_search.ipynb.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["SearchResult", "SearchFailedError"]

# The fixed columns of a trials table, after the params columns.
TRIAL_COLUMNS = ["number", "score", "status", "error", "duration", "start", "end", "elapsed", "worker"]


class SearchFailedError(RuntimeError):
    """Raised when every trial of a search failed; ``.result`` holds the failed trials."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


def _jsonable(value):
    """Plain Python for json.dumps (NumPy scalars, tuples, NaN -> None).

    Infinite scores stay floats: ``json`` writes them as ``Infinity`` and reads them back, so a best score of
    ``inf`` is still the best after loading (as None it would become NaN and lose its trial).
    """
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


class SearchResult:
    """The outcome of a search.

    Attributes:
        best_params: the params dict of the best successful trial (``None`` if none).
        best_score: its score (higher is better; NaN if none).
        trials: a pandas DataFrame, one row per evaluation in evaluation order:
            one column per hyperparameter, then ``number``, ``score``, ``status``
            (``"ok"``, ``"failed"`` or ``"pruned"``), ``error``, ``duration``
            (seconds), ``start``/``end`` (timestamps), ``elapsed`` (seconds
            from the start of the search to the end of the trial) and ``worker``.
            Multi-objective searches add one column per objective.
        method: the name of the method that produced it.
        interrupted: True when a KeyboardInterrupt ended the search early.
        stopped_by: why the search ended (``"budget"``, ``"timeout"``,
            ``"callback"``, ``"interrupt"``, ``"exhausted"``).
        pareto_front: (NSGA-II) a DataFrame of the non-dominated trials.
        hypervolume: (NSGA-II) the hypervolume of that front.
        info: a dict of extra facts (directions, reference point, study name...).

    Example:
        >>> result = evolab.search.random_search(objective, space, n_trials=20, seed=0)
        >>> result.best_params, result.best_score
        >>> result.save("random.json"); evolab.search.SearchResult.load("random.json")

    Introduced in 02_grid_search.ipynb.
    """

    def __init__(self, trials: pd.DataFrame, param_names, method="search", interrupted=False, stopped_by=None,
                 pareto_front=None, hypervolume=None, info=None):
        self.trials = trials
        self.param_names = list(param_names)
        self.method = method
        self.interrupted = interrupted
        self.stopped_by = stopped_by
        self.pareto_front = pareto_front
        self.hypervolume = hypervolume
        self.info = dict(info or {})
        ok = trials[trials["status"] == "ok"] if len(trials) else trials
        if len(ok):
            best = ok["score"].astype(float).idxmax()  # the first of equal scores wins
            self.best_score = float(ok.loc[best, "score"])
            self.best_params = {name: _python(ok.loc[best, name]) for name in self.param_names}
        else:
            self.best_score, self.best_params = float("nan"), None

    def __repr__(self):
        counts = self.trials["status"].value_counts().to_dict() if len(self.trials) else {}
        return (f"SearchResult(method={self.method!r}, best_score={self.best_score:.5g}, "
                f"best_params={self.best_params!r}, trials={len(self.trials)} {counts})")

    @property
    def num_trials(self) -> int:
        return len(self.trials)

    def best_so_far(self) -> pd.Series:
        """The best score after each evaluation, indexed by evaluation count (1, 2, ...).

        Failed and pruned trials do not count as improvements; before the
        first success the value is NaN.
        """
        scores = self.trials["score"].astype(float).where(self.trials["status"] == "ok")
        series = scores.cummax().ffill()
        series.index = np.arange(1, len(series) + 1)
        series.name = "best_score"
        return series

    def best_at(self, num_evaluations: int) -> float:
        """The best score found within the first ``num_evaluations`` evaluations (NaN if none)."""
        curve = self.best_so_far()
        if len(curve) == 0:
            return float("nan")
        return float(curve.iloc[min(num_evaluations, len(curve)) - 1])

    # --- save / load -----------------------------------------------------------
    def save(self, path) -> Path:
        """Writes the result to ``path``: ``.json`` keeps everything, ``.csv`` keeps the trials table.

        Returns:
            The path written.
        """
        path = Path(path)
        if path.suffix == ".csv":
            table = self.trials.copy()
            for column in table.columns:
                if table[column].map(lambda v: isinstance(v, (list, tuple, dict))).any():
                    table[column] = table[column].map(lambda v: json.dumps(_jsonable(v)))
            table.to_csv(path, index=False)
            return path
        if path.suffix != ".json":
            raise ValueError(f"path must end in .json or .csv; received {str(path)!r}")
        trials = self.trials.copy()
        for column in ("start", "end"):
            if column in trials:
                trials[column] = trials[column].map(lambda t: t.isoformat() if pd.notna(t) else None)
        payload = {
            "method": self.method, "param_names": self.param_names, "best_params": _jsonable(self.best_params),
            "best_score": _jsonable(self.best_score), "interrupted": self.interrupted, "stopped_by": self.stopped_by,
            "hypervolume": _jsonable(self.hypervolume), "info": _jsonable(self.info),
            "trials": _jsonable(trials.to_dict(orient="list")),
            "pareto_front": None if self.pareto_front is None else _jsonable(self.pareto_front.to_dict(orient="list")),
        }
        path.write_text(json.dumps(payload, indent=1))
        return path

    @classmethod
    def load(cls, path) -> "SearchResult":
        """Reads a result written by :meth:`save` (``.json`` or ``.csv``)."""
        path = Path(path)
        if path.suffix == ".csv":
            table = pd.read_csv(path, keep_default_na=False, na_values=[""])
            for column in table.columns:
                if not pd.api.types.is_numeric_dtype(table[column]):
                    table[column] = table[column].astype(object).map(_maybe_json)
            table = _table(table)
            names = [c for c in table.columns if c not in TRIAL_COLUMNS + ["intermediate"]]
            return cls(table, names, method=path.stem)
        try:
            payload = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            message = f"{str(path)!r} is not a SearchResult JSON file (damaged or cut short?): {error}"
            raise ValueError(message) from None
        required = ("method", "param_names", "trials")
        missing = [key for key in required if not isinstance(payload, dict) or key not in payload]
        if missing:
            raise ValueError(f"{str(path)!r} is not a SearchResult written by SearchResult.save: it lacks {missing}")
        table = _table(payload["trials"])
        front = None if payload.get("pareto_front") is None else _table(payload["pareto_front"])
        hypervolume = payload.get("hypervolume")
        return cls(table, payload["param_names"], method=payload["method"],
                   interrupted=payload.get("interrupted", False), stopped_by=payload.get("stopped_by"),
                   pareto_front=front, hypervolume=None if hypervolume is None else float(hypervolume), info=payload.get("info"))


def _table(columns) -> pd.DataFrame:
    """A trials table from JSON columns or a CSV read, with the column types restored."""
    table = pd.DataFrame(columns)
    for column in ("start", "end"):
        if column in table:
            table[column] = pd.to_datetime(table[column])
    if "score" in table:
        table["score"] = table["score"].astype(float)
    if "error" in table:
        table["error"] = _errors(table["error"])
    if "intermediate" in table:  # JSON turned the steps into strings
        table["intermediate"] = table["intermediate"].map(
            lambda d: {int(k): v for k, v in d.items()} if isinstance(d, dict) else d)
    return table


def _errors(column):
    """The error column as Python objects: the message, or None for a trial without error."""
    return pd.Series([None if not isinstance(v, str) else v for v in column], index=column.index, dtype=object)


def _maybe_json(value):
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _python(value):
    """NumPy scalars to Python numbers, so best_params prints and compares plainly."""
    return value.item() if isinstance(value, np.generic) else value
