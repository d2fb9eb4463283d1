"""Pictures a teacher would rather show than tell; each function returns a matplotlib Figure.

Every function builds its own figure and detaches it from pyplot before
returning it, so nothing is left in pyplot's global list of figures: a cell
that ends with ``evolab.plot.convergence(...)`` shows the picture once, and
``fig.savefig("convergence.png")`` works in a script. Nothing here calls
``plt.show()``.

The inputs are what the engines return: a search's ``trials`` DataFrame (one
row per evaluation: ``score``, ``status``, the parameters, timings) and a
neuroevolution ``history`` DataFrame (one row per generation:
``fitness_max``, ``fitness_mean``, ``fitness_min``, ``val_accuracy``,
``wall_time``). Wherever a DataFrame is expected, a result object holding one
(``result.trials`` or ``result.history``) works too.

Introduced in 03_random_search.ipynb.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection

from .pareto import hypervolume, pareto_mask  # re-exported: lessons call evolab.plot.pareto_mask

__all__ = [
    "convergence", "search_space", "parallel_coordinates", "pareto_front", "pareto_mask", "hypervolume",
    "diversity", "population_diversity", "weight_histograms", "misclassified", "confusion_matrix",
    "classification_report", "history", "NEUROEVOLUTION_GROUPS", "SEARCH_GROUPS",
]

#: Which log keys share a panel, for neuroevolution histories and live plots.
NEUROEVOLUTION_GROUPS = {
    "fitness": ["fitness_max", "fitness_mean", "fitness_min"],
    "validation accuracy": ["val_accuracy", "best_val_accuracy"],
    "evaluations per second": ["evaluations_per_second"],
}
#: Which log keys share a panel, for search trials and live plots.
SEARCH_GROUPS = {
    "score": ["score", "best_score"],
    "trial duration (s)": ["duration"],
}

# Columns of a trials DataFrame that are bookkeeping, not hyperparameters.
_TRIAL_COLUMNS = {
    "score", "best_score", "status", "duration", "wall_time", "elapsed", "start_time", "end_time",
    "datetime_start", "datetime_complete", "start", "end", "worker", "number", "trial", "step", "error", "value",
    "state", "params", "seed", "method",
}


# --------------------------------------------------------------------------- helpers


def _figure(nrows=1, ncols=1, figsize=None, **kwargs):
    """A new figure with a 2-D array of axes, detached from pyplot (no global state left behind)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, layout="constrained", **kwargs)
    plt.close(fig)  # pyplot forgets it; the caller owns the Figure, a notebook shows the returned value once
    return fig, axes


def _frame(data, what="data"):
    """A DataFrame from a DataFrame or a result object holding ``trials`` / ``history``."""
    if isinstance(data, pd.DataFrame):
        return data
    for name in ("trials", "history"):
        value = getattr(data, name, None)
        if isinstance(value, pd.DataFrame):
            return value
    raise ValueError(
        f"Expected {what} as a pandas DataFrame (or a result with a .trials or .history DataFrame); "
        f"received {type(data).__name__}"
    )


def _ok_mask(frame, column):
    """Rows with a finite value in ``column`` and, when a ``status`` column exists, status ``"ok"``."""
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(values)
    if "status" in frame.columns:
        ok &= (frame["status"].astype(str) == "ok").to_numpy()
    return ok, values


def _labels(y):
    """Class labels from labels, one-hot rows or predicted probabilities."""
    y = np.asarray(y)
    return y.argmax(axis=-1) if y.ndim == 2 else y.reshape(-1)


def _grid_shape(count, max_cols):
    ncols = max(1, min(count, max_cols))
    return math.ceil(count / ncols), ncols


def _plot_groups(axes, series_by_group, xlabel, legend_loc="best", xlabel_once=False):
    """Draws one panel per group: ``{group: {label: (x, y)}}``; hides the axes left over.

    Returns ``[(axes, title, [line, ...], [legend text, ...])]``, one per panel, for a caller that updates them in
    place (the live plot, which also asks for a fixed legend corner and the x label on the first panel only).
    """
    panels = []
    for index, (ax, (group, series)) in enumerate(zip(axes, series_by_group.items())):
        lines = [ax.plot(x, y, label=label)[0] for label, (x, y) in series.items()]
        title = ax.set_title(group, y=1.0)  # a fixed title position skips a costly layout pass at every draw
        if index == 0 or not xlabel_once:
            ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        legend = ax.legend(fontsize="small", loc=legend_loc) if len(series) > 1 else None
        panels.append((ax, title, lines, legend.get_texts() if legend else []))
    for ax in axes[len(series_by_group):]:
        ax.set_visible(False)
    return panels


# --------------------------------------------------------------------------- convergence


def _seconds(frame):
    """Seconds since the run started at the end of each row, or None when the frame has no timings."""
    for column in ("wall_time", "elapsed"):
        if column in frame.columns:
            return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    for column in ("end_time", "datetime_complete"):
        if column in frame.columns:
            end = pd.to_datetime(frame[column])
            start_column = {"end_time": "start_time", "datetime_complete": "datetime_start"}[column]
            start = pd.to_datetime(frame[start_column]).min() if start_column in frame.columns else end.min()
            return (end - start).dt.total_seconds().to_numpy(dtype=float)
    if "duration" in frame.columns:
        duration = frame["duration"]
        if pd.api.types.is_timedelta64_dtype(duration):
            duration = duration.dt.total_seconds()
        return np.cumsum(pd.to_numeric(duration, errors="coerce").fillna(0.0).to_numpy(dtype=float))
    return None


def _run_curve(frame, metric, population_size):
    """One run as (evaluations, seconds or None, best-so-far, x label for evaluations)."""
    if metric is None:
        metric = next((c for c in ("score", "fitness_max") if c in frame.columns), None)
    if metric not in frame.columns:
        raise ValueError(
            f"Expected a column {metric!r} (trials need 'score', histories 'fitness_max'); "
            f"received columns {list(frame.columns)}"
        )
    ok, values = _ok_mask(frame, metric)
    best = pd.Series(np.where(ok, values, np.nan)).cummax().ffill().to_numpy()
    if "evaluations" in frame.columns:
        evaluations, label = frame["evaluations"].to_numpy(dtype=float), "evaluations"
    elif "score" in frame.columns or population_size:
        evaluations = np.arange(1, len(frame) + 1, dtype=float) * (population_size or 1)
        label = "evaluations"
    else:
        evaluations, label = np.arange(1, len(frame) + 1, dtype=float), "generations"
    return evaluations, _seconds(frame), best, label, metric


def _step_values(x, y, grid):
    """The step function through (x, y) at ``grid``: NaN before the first point, the last value held after it.

    A finished run keeps its best-so-far, so every run's curve never falls.
    """
    index = np.searchsorted(x, grid, side="right") - 1
    return np.where(index >= 0, y[np.clip(index, 0, None)], np.nan)


def _as_methods(runs):
    """``{method: [(frame, population size or None), ...]}`` from a run, a list of runs or a dict of those."""
    def pair(run):
        config = getattr(run, "config", None)  # a NeuroevolutionResult knows its population size
        return _frame(run), (config.get("population_size") if isinstance(config, dict) else None)

    if isinstance(runs, dict):
        return {str(k): [pair(r) for r in (v if isinstance(v, (list, tuple)) else [v])] for k, v in runs.items()}
    if isinstance(runs, (list, tuple)):
        return {"run": [pair(r) for r in runs]}
    return {"run": [pair(runs)]}


def convergence(runs, x="both", metric=None, population_size=None, band=(25, 75), figsize=None):
    """Best-so-far score against evaluations and against seconds, for several methods and seeds.

    Several runs of one method (different seeds) are drawn as their median
    with a shaded band between two percentiles, so a lucky seed cannot pass
    for a better method.

    Args:
        runs: one run, a list of runs (seeds of one method), or a dict
            ``{method name: run or list of runs}``. A run is a trials
            DataFrame (``score``, optional ``status``, timings in
            ``wall_time``, ``duration`` or ``end_time``), a neuroevolution
            history (``fitness_max``, ``wall_time``, optional ``evaluations``)
            or a result object holding one.
        x: ``"evaluations"``, ``"seconds"`` or ``"both"`` (default; seconds
            are left out when the runs hold no timings).
        metric: the column to take the best-so-far of (default ``"score"``
            for trials, ``"fitness_max"`` for histories).
        population_size: for histories without an ``evaluations`` column,
            turns generations into evaluations (default: read from a
            neuroevolution result's ``config``; otherwise x counts generations).
        band: the percentiles of the shaded band (default the quartiles).
        figsize: the figure size in inches (default from matplotlib).

    Returns:
        A ``matplotlib.figure.Figure`` with one axes per x quantity.

    Raises:
        ValueError: for an unknown ``x``, a missing metric column, or
            ``x="seconds"`` when no run has timings.

    Example:
        >>> evolab.plot.convergence({"random": random_results, "bayesian": bayes_results})

    Introduced in 03_random_search.ipynb.
    """
    if x not in ("evaluations", "seconds", "both"):
        raise ValueError(f"x must be 'evaluations', 'seconds' or 'both'; received {x!r}")
    curves = {name: [_run_curve(f, metric, population_size or size) for f, size in frames if len(f)]
              for name, frames in _as_methods(runs).items()}
    curves = {name: c for name, c in curves.items() if c}
    if not curves:
        raise ValueError("Expected at least one run with at least one row; received only empty runs")
    all_runs = [c for runs_ in curves.values() for c in runs_]
    have_seconds = all(c[1] is not None for c in all_runs)
    if x == "seconds" and not have_seconds:
        raise ValueError("x='seconds' needs timings (a wall_time, duration or end_time column); received none")
    quantities = ["evaluations", "seconds"] if x == "both" and have_seconds else [x if x != "both" else "evaluations"]

    fig, axes = _figure(1, len(quantities), figsize=figsize or (5.5 * len(quantities), 4))
    for ax, quantity in zip(axes[0], quantities):
        for name, method_runs in curves.items():
            xs = [c[0] if quantity == "evaluations" else c[1] for c in method_runs]
            if len(method_runs) == 1:
                ax.plot(xs[0], method_runs[0][2], drawstyle="steps-post", label=name)
                continue
            grid = (np.unique(np.concatenate(xs)) if quantity == "evaluations"
                    else np.linspace(0.0, max(float(np.nanmax(v)) for v in xs), 200))
            stack = np.vstack([_step_values(xv, c[2], grid) for xv, c in zip(xs, method_runs)])
            # Only where every run has a score: a median over a changing set of runs could fall.
            started = ~np.isnan(stack).any(axis=0)
            median = np.full(grid.shape, np.nan)
            low, high = median.copy(), median.copy()
            if started.any():
                median[started] = np.median(stack[:, started], axis=0)
                low[started], high[started] = np.percentile(stack[:, started], band, axis=0)
            (line,) = ax.plot(grid, median, drawstyle="steps-post", label=f"{name} (median of {len(method_runs)})")
            ax.fill_between(grid, low, high, step="post", alpha=0.25, color=line.get_color())
        ax.set_xlabel(all_runs[0][3] if quantity == "evaluations" else "seconds")
        ax.set_ylabel(f"best-so-far {all_runs[0][4]}")
        ax.set_title(f"Convergence vs {ax.get_xlabel()}")
        ax.grid(alpha=0.3)
        if len(curves) > 1 or any(len(r) > 1 for r in curves.values()):
            ax.legend(fontsize="small")
    return fig


# --------------------------------------------------------------------------- search space


def _params(trials, names=None):
    """The hyperparameter columns of a trials DataFrame (``names`` when known), one column per parameter."""
    if names:
        return trials[list(names)]
    if "params" in trials.columns and len(trials) and isinstance(trials["params"].iloc[0], dict):
        return pd.DataFrame(list(trials["params"]), index=trials.index)
    prefixed = [c for c in trials.columns if str(c).startswith("params_")]
    if prefixed:
        return trials[prefixed].rename(columns=lambda c: c[len("params_"):])
    return trials[[c for c in trials.columns if c not in _TRIAL_COLUMNS]]


def _numeric(column):
    """(numbers, tick labels or None): categories become 0, 1, 2, ... with their names as labels."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=float), None
    categories = pd.Categorical(column.astype(str))
    return categories.codes.astype(float), list(categories.categories)


def search_space(trials, x=None, y=None, score="score", logx=False, logy=False, figsize=(6, 4.5)):
    """The sampled points of two hyperparameters, coloured by score; the best marked with a star.

    Failed trials are drawn as grey crosses. Categorical parameters are
    placed at 0, 1, 2, ... and labelled with their values.

    Args:
        trials: a trials DataFrame (parameters as columns, as ``params_<name>``
            columns, or as a ``params`` column of dicts) or a search result.
        x, y: the two parameter names (default the first two parameters).
        score: the score column (default ``"score"``; higher is better).
        logx, logy: logarithmic axes (e.g. for a learning rate).
        figsize: the figure size in inches.

    Returns:
        A ``matplotlib.figure.Figure``: the scatter axes and its colour bar.

    Raises:
        ValueError: when there are fewer than two parameters or a named one is missing.

    Example:
        >>> evolab.plot.search_space(result.trials, "learning_rate", "batch_size", logx=True)

    Introduced in 03_random_search.ipynb.
    """
    params = _params(_frame(trials, "trials"), getattr(trials, "param_names", None))
    trials = _frame(trials, "trials")
    names = list(params.columns)
    x = x or (names[0] if names else None)
    y = y or next((n for n in names if n != x), None)
    for name in (x, y):
        if name is None or name not in names:
            raise ValueError(f"Expected two parameter names among {names}; received x={x!r}, y={y!r}")
    ok, values = _ok_mask(trials, score)
    xs, xticks = _numeric(params[x])
    ys, yticks = _numeric(params[y])

    fig, axes = _figure(figsize=figsize)
    ax = axes[0, 0]
    points = ax.scatter(xs[ok], ys[ok], c=values[ok], cmap="viridis", edgecolors="k", linewidths=0.3)
    if (~ok).any():
        ax.scatter(xs[~ok], ys[~ok], marker="x", color="grey", label="failed")
        ax.legend(fontsize="small")
    if ok.any():
        best = np.flatnonzero(ok)[np.argmax(values[ok])]
        ax.scatter([xs[best]], [ys[best]], marker="*", s=300, color="red", edgecolors="k", zorder=3)
        fig.colorbar(points, ax=ax, label=score)
        ax.set_title(f"{ok.sum()} trials, best {score} = {values[best]:.4g}")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if xticks is not None:
        ax.set_xticks(range(len(xticks)), xticks)
    if yticks is not None:
        ax.set_yticks(range(len(yticks)), yticks)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    return fig


def parallel_coordinates(trials, params=None, score="score", figsize=None, log="auto"):
    """Every successful trial as one line across the parameters' axes, coloured by score.

    Each axis is scaled to its own range (the minimum at the bottom, the
    maximum at the top, categories spread evenly); a log-scaled parameter
    (``Real(..., log=True)``) gets a log axis, labelled at its decades, so
    values near its low end do not all sit on the bottom line. The score is
    the last axis and the best trial is drawn thick.

    Args:
        trials: a trials DataFrame or a search result.
        params: the parameters to show, in order (default all of them).
        score: the score column (default ``"score"``).
        figsize: the figure size in inches (default grows with the parameters).
        log: which parameters get a log axis: ``"auto"`` (default: every
            positive numeric parameter whose values span a factor of 100 or
            more, as a log-scaled search dimension does), the search space
            itself (a dict or ``SearchSpace``: its ``log=True`` dimensions),
            a list of names, or ``None`` for linear axes only.

    Returns:
        A ``matplotlib.figure.Figure``; its first axes holds one
        ``LineCollection`` with a line per successful trial.

    Raises:
        ValueError: for an unknown parameter or no successful trial.

    Example:
        >>> evolab.plot.parallel_coordinates(result.trials)

    Introduced in 04_bayesian_optimization.ipynb.
    """
    table = _params(_frame(trials, "trials"), getattr(trials, "param_names", None))
    trials = _frame(trials, "trials")
    params = list(params or table.columns)
    missing = [p for p in params if p not in table.columns]
    if missing:
        raise ValueError(f"Expected parameters among {list(table.columns)}; received unknown {missing}")
    ok, values = _ok_mask(trials, score)
    if not ok.any():
        raise ValueError(f"Expected at least one successful trial with a finite {score!r}; received none")

    log_names = _log_parameters(log, table, params, ok)
    columns, tick_labels = [], []  # tick labels: (level between 0 and 1, text) per axis
    for name in params:
        numbers, categories = _numeric(table[name])
        numbers = numbers[ok]
        if categories:
            high = max(len(categories) - 1, 1.0)
            columns.append(numbers / high)
            tick_labels.append([(i / high, text) for i, text in enumerate(categories)])
        elif name in log_names:
            column, labels = _log_axis(numbers)
            columns.append(column)
            tick_labels.append(labels)
        else:
            column, labels = _linear_axis(numbers)
            columns.append(column)
            tick_labels.append(labels)
    scores = values[ok]
    column, labels = _linear_axis(scores)
    columns.append(column)
    tick_labels.append(labels)
    names = params + [score]

    fig, axes = _figure(figsize=figsize or (1.6 * len(names) + 2, 4))
    ax = axes[0, 0]
    positions = np.arange(len(names))
    lines = LineCollection([np.column_stack([positions, row]) for row in np.column_stack(columns)],
                           array=scores, cmap="viridis", linewidths=1.0, alpha=0.8)
    ax.add_collection(lines)
    best = int(np.argmax(scores))
    ax.plot(positions, [c[best] for c in columns], color="red", linewidth=2.5, label=f"best ({scores[best]:.4g})")
    for position, labels in zip(positions, tick_labels):
        ax.axvline(position, color="black", linewidth=0.8)
        for level, text in labels:  # on a white box, so that no line hides a label
            ax.annotate(text, (position, level), xytext=(3, 0), textcoords="offset points", fontsize="x-small",
                        va="center", zorder=4, bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=0.5))
    ax.set_xticks(positions, [f"{name}\n(log)" if name in log_names else name for name in names])
    ax.set_yticks([])
    ax.set_xlim(-0.2, len(names) - 0.6)
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(f"Parallel coordinates: {ok.sum()} trials; red: the best ({score} {scores[best]:.4g})")
    fig.colorbar(lines, ax=ax, label=score)
    return fig


def _linear_axis(numbers):
    """(numbers scaled to [0, 1], their two end labels); a constant column sits in the middle."""
    low, high = numbers.min(), numbers.max()
    if high > low:
        return (numbers - low) / (high - low), [(0.0, f"{low:.3g}"), (1.0, f"{high:.3g}")]
    return np.full_like(numbers, 0.5), [(0.5, f"{low:.3g}")]


def _log_axis(numbers):
    """(log10 of the numbers scaled to [0, 1], labels at the ends and at the decades between)."""
    exponents = np.log10(numbers)
    low, high = exponents.min(), exponents.max()
    if high <= low:
        return _linear_axis(numbers)
    labels = [(0.0, f"{numbers.min():.3g}"), (1.0, f"{numbers.max():.3g}")]
    span = high - low
    decades = np.arange(np.ceil(low), np.floor(high) + 1)
    step = int(np.ceil(len(decades) / 5)) or 1  # at most about five decade labels
    labels += [((d - low) / span, f"{10.0 ** d:g}") for d in decades[::step]
               if 0.08 < (d - low) / span < 0.92]  # not on top of the end labels
    return (exponents - low) / span, labels


def _log_parameters(log, table, params, ok):
    """The names among ``params`` that get a log axis (see :func:`parallel_coordinates`'s ``log``)."""
    if log is None or log is False:
        return set()
    dimensions = getattr(log, "dimensions", log)  # a SearchSpace, or a dict of dimensions
    if isinstance(dimensions, dict):
        return {name for name, dim in dimensions.items() if getattr(dim, "log", False)} & set(params)
    if isinstance(log, str) and log == "auto":
        names = set()
        for name in params:
            column = table[name]
            if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
                numbers = column.to_numpy(dtype=float)[ok]
                if numbers.size and numbers.min() > 0 and numbers.max() >= 100 * numbers.min():
                    names.add(name)
        return names
    if isinstance(log, str):
        log = [log]
    names = set(log)
    unknown = names - set(params)
    if unknown:
        raise ValueError(f"log names parameters to draw on a log axis, among {params}; "
                         f"received unknown {sorted(unknown)}")
    for name in names:
        numbers, categories = _numeric(table[name])
        numbers = numbers[ok]
        if categories is not None or (numbers <= 0).any():
            raise ValueError(f"log needs positive numbers; received parameter {name!r} with values "
                             f"from {numbers.min():.3g}")
    return names


# --------------------------------------------------------------------------- multi-objective


def _objectives(points, columns=None):
    """An (n, 2) float array from an array, a DataFrame or DEAP individuals (their fitness values)."""
    if isinstance(points, pd.DataFrame):
        points = points[list(columns)] if columns is not None else points.select_dtypes("number").iloc[:, :2]
        points = points.to_numpy(dtype=float)
    elif len(points) and hasattr(points[0], "fitness"):
        points = [individual.fitness.values for individual in points]
    array = np.asarray(points, dtype=float)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"Expected points of shape (n, 2), two objectives per point; received shape {array.shape}")
    return array


def _orient(points, maximize):
    """Flips minimized objectives so both read 'higher is better'."""
    signs = np.where(np.broadcast_to(np.asarray(maximize, dtype=bool), (2,)), 1.0, -1.0)
    return points * signs, signs


def pareto_front(points, maximize=True, reference=None, labels=("objective 1", "objective 2"), columns=None,
                 figsize=(6, 4.5)):
    """All points, the Pareto front among them and its hypervolume in the title.

    Args:
        points: an ``(n, 2)`` array, a DataFrame (the two ``columns``, default
            its first two numeric ones), a list of DEAP individuals, or the
            result of :func:`evolab.search.nsga2_search` (its successful
            trials, directions, objective names and reference point).
        maximize: ``True``, ``False`` or one bool per objective.
        reference: the hypervolume's reference point (see :func:`evolab.pareto.hypervolume`).
        labels: the axis labels (default the DataFrame's column names when given one).
        columns: the two DataFrame columns to use.
        figsize: the figure size in inches.

    Returns:
        A ``matplotlib.figure.Figure``; its axes holds two scatters (all
        points, front points) and the front as a step line. For a two-objective
        NSGA-II result the front is ``result.pareto_front`` (each model once,
        though NSGA-II may have trained it twice), so the title's count equals
        ``len(result.pareto_front)``; for other inputs equal points are all
        drawn and counted.

    Example:
        >>> evolab.plot.pareto_front(np.column_stack([accuracy, num_params]), maximize=(True, False),
        ...                          labels=("accuracy", "parameters"))

    Introduced in 07_multi_objective.ipynb.
    """
    info = getattr(points, "info", None)  # an NSGA-II search result says which objectives go which way
    directions = info.get("directions") if isinstance(info, dict) else None
    listed_front = None  # the result's own front: each model listed once, as in result.pareto_front
    what = "points"
    if directions and isinstance(getattr(points, "trials", None), pd.DataFrame):
        columns = list(directions)[:2]
        maximize = tuple(directions[c] == "maximize" for c in columns)
        given = points.info.get("reference_point")
        reference = reference if reference is not None or given is None else given[:2]
        if len(directions) == 2 and isinstance(getattr(points, "pareto_front", None), pd.DataFrame):
            listed_front = _objectives(points.pareto_front, columns)
        what = "trials"
        points = points.trials[points.trials["status"] == "ok"] if "status" in points.trials else points.trials
    if isinstance(points, pd.DataFrame) and labels == ("objective 1", "objective 2"):
        labels = tuple(columns) if columns is not None else tuple(points.select_dtypes("number").columns[:2])
    values = _objectives(points, columns)
    mask = pareto_mask(values, maximize)
    volume = hypervolume(values, reference, maximize)  # evolab.pareto, shared with nsga2_search
    front = values[mask] if listed_front is None else listed_front
    front = front[np.argsort(front[:, 0])]

    fig, axes = _figure(figsize=figsize)
    ax = axes[0, 0]
    ax.scatter(values[~mask, 0], values[~mask, 1], color="lightgrey", edgecolors="grey", label="dominated")
    ax.scatter(front[:, 0], front[:, 1], color="crimson", zorder=3, label=f"Pareto front ({len(front)})")
    _, signs = _orient(front, maximize)
    step = "pre" if signs[0] > 0 else "post"  # the staircase bounding the dominated region
    ax.plot(front[:, 0], front[:, 1], drawstyle=f"steps-{step}", color="crimson", linewidth=1)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(f"Pareto front: {len(front)} of {len(values)} {what}, hypervolume = {volume:.4g}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


# --------------------------------------------------------------------------- populations and weights


def population_diversity(population) -> float:
    """The mean Euclidean distance of the individuals to the population's centroid.

    Args:
        population: a ``(population_size, num_params)`` array.

    Returns:
        A float; 0 when every individual is the same (the population has collapsed).

    Example:
        >>> evolab.plot.population_diversity(np.zeros((10, 5)))
        0.0

    Introduced in 09_neuroevolution_the_hard_way.ipynb.
    """
    population = np.asarray(population, dtype=float)
    if population.ndim != 2:
        raise ValueError(
            f"Expected a population of shape (population_size, num_params); received shape {population.shape}"
        )
    return float(np.linalg.norm(population - population.mean(axis=0), axis=1).mean())


def diversity(populations, column="diversity", figsize=(6, 4)):
    """Population diversity over generations: watch a population collapse (or not).

    Args:
        populations: a list of ``(population_size, num_params)`` arrays, one
            per generation (or one 3-D array), or a history DataFrame / result
            with a ``column`` of diversity values.
        column: the history column to plot (default ``"diversity"``).
        figsize: the figure size in inches.

    Returns:
        A ``matplotlib.figure.Figure`` with one line, a point per generation.

    Raises:
        ValueError: for an empty input or a history without ``column``.

    Example:
        >>> evolab.plot.diversity([population_at_generation_0, population_at_generation_1, ...])

    Introduced in 09_neuroevolution_the_hard_way.ipynb.
    """
    if isinstance(populations, pd.DataFrame) or hasattr(populations, "history"):
        frame = _frame(populations, "a history")
        if column not in frame.columns:
            raise ValueError(f"Expected a history with a {column!r} column; received columns {list(frame.columns)}")
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        ylabel = column
    else:
        values = np.array([population_diversity(p) for p in populations])
        ylabel = "mean distance to the centroid"
    if len(values) == 0:
        raise ValueError("Expected at least one generation; received none")
    fig, axes = _figure(figsize=figsize)
    ax = axes[0, 0]
    ax.plot(np.arange(len(values)), values, marker="o" if len(values) <= 30 else None)
    ax.set_xlabel("generation")
    ax.set_ylabel(ylabel)
    ax.set_title(f"Population diversity ({values[0]:.3g} -> {values[-1]:.3g})")
    ax.grid(alpha=0.3)
    return fig


def weight_histograms(parameters, model=None, per_layer=True, bins=40, max_cols=3):
    """Histograms of a network's weights, one panel per trainable variable.

    Args:
        parameters: a Keras model (its current weights) or a flat parameter
            vector (e.g. ``result.best_parameters``).
        model: the Keras model the vector belongs to; needed to split a vector
            into variables (default: one histogram of the whole vector).
        per_layer: one panel per variable (default) or one for everything.
        bins: histogram bins.
        max_cols: panels per row.

    Returns:
        A ``matplotlib.figure.Figure``; each panel's title names the variable
        and its number of weights, mean and standard deviation.

    Raises:
        ValueError: when the vector's length does not match ``model``.

    Example:
        >>> evolab.plot.weight_histograms(result.best_parameters, model=model)

    Introduced in 09_neuroevolution_the_hard_way.ipynb.
    """
    from .weights import ParameterLayout, get_parameters

    if hasattr(parameters, "trainable_variables"):
        model, vector = parameters, get_parameters(parameters)
    else:
        vector = np.asarray(parameters, dtype=np.float32).reshape(-1)
    if model is not None and per_layer:
        layout = ParameterLayout.from_model(model)
        parts = dict(zip(layout.names, layout.unflatten(vector)))
    else:
        parts = {"all weights": vector}
    nrows, ncols = _grid_shape(len(parts), max_cols)
    fig, axes = _figure(nrows, ncols, figsize=(4 * ncols, 3 * nrows))
    flat = axes.reshape(-1)
    for ax, (name, values) in zip(flat, parts.items()):
        values = np.ravel(values)
        ax.hist(values, bins=bins, color="steelblue")
        ax.set_title(f"{name}: {values.size} weights\nmean {values.mean():.3g}, std {values.std():.3g}",
                     fontsize="small")
    for ax in flat[len(parts):]:
        ax.set_visible(False)
    return fig


# --------------------------------------------------------------------------- classification


def misclassified(x, y_true, y_pred, n=16, max_cols=8, class_names=None, image_shape=None):
    """A grid of the first ``n`` misclassified images, each titled ``true -> predicted``.

    Args:
        x: the images, ``(N, height, width)``, ``(N, height, width, channels)``
            or flattened ``(N, pixels)`` with a square number of pixels.
        y_true: true labels (or one-hot rows).
        y_pred: predicted labels, or predicted probabilities / logits (argmax is taken).
        n: at most this many images (default 16).
        max_cols: images per row.
        class_names: names to show instead of the label numbers.
        image_shape: the shape of one image, for flattened non-square images.

    Returns:
        A ``matplotlib.figure.Figure`` with one image axes per shown mistake
        (a single text axes when there is none).

    Raises:
        ValueError: when the lengths disagree or a flattened image cannot be made square.

    Example:
        >>> evolab.plot.misclassified(x_test, y_test, model.predict(x_test, verbose=0))

    Introduced in 00_welcome.ipynb.
    """
    x = np.asarray(x)
    y_true, y_pred = _labels(y_true), _labels(y_pred)
    if not len(x) == len(y_true) == len(y_pred):
        raise ValueError(
            f"Expected x, y_true and y_pred of the same length; received {len(x)}, {len(y_true)}, {len(y_pred)}"
        )
    if image_shape is None and x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise ValueError(f"Cannot show {x.shape[1]} pixels as a square image; pass image_shape=(height, width)")
        image_shape = (side, side)
    if image_shape is not None:
        x = x.reshape((len(x), *image_shape))
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    wrong = np.flatnonzero(y_true != y_pred)
    shown = wrong[:n]
    name = (lambda label: str(class_names[label])) if class_names is not None else str
    if len(shown) == 0:
        fig, axes = _figure(figsize=(4, 1.5))
        axes[0, 0].axis("off")
        axes[0, 0].text(0.5, 0.5, f"No misclassified examples among {len(x)}", ha="center", va="center")
        return fig
    nrows, ncols = _grid_shape(len(shown), max_cols)
    fig, axes = _figure(nrows, ncols, figsize=(1.3 * ncols, 1.5 * nrows + 0.4))
    flat = axes.reshape(-1)
    for ax, index in zip(flat, shown):
        ax.imshow(x[index], cmap="gray_r" if x.ndim == 3 else None)
        ax.set_title(f"{name(y_true[index])} -> {name(y_pred[index])}", fontsize="small", color="crimson")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in flat[len(shown):]:
        ax.set_visible(False)
    fig.suptitle(f"Misclassified (true -> predicted): {len(wrong)} of {len(x)}, showing {len(shown)}")
    return fig


def confusion_matrix(y_true, y_pred, class_names=None, normalize=None, figsize=(6, 5)):
    """The confusion matrix (rows: true class, columns: predicted), drawn by scikit-learn.

    Args:
        y_true: true labels (or one-hot rows).
        y_pred: predicted labels, or probabilities / logits (argmax is taken).
        class_names: names for the classes (default the labels).
        normalize: ``None`` (counts), ``"true"``, ``"pred"`` or ``"all"``,
            as in ``sklearn.metrics.confusion_matrix``.
        figsize: the figure size in inches.

    Returns:
        A ``matplotlib.figure.Figure``; the title gives the accuracy.

    Example:
        >>> evolab.plot.confusion_matrix(y_test, model.predict(x_test, verbose=0))

    Introduced in 00_welcome.ipynb.
    """
    from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score

    y_true, y_pred = _labels(y_true), _labels(y_pred)
    fig, axes = _figure(figsize=figsize)
    ax = axes[0, 0]
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, display_labels=class_names, normalize=normalize,
                                            ax=ax, cmap="Blues", colorbar=True,
                                            values_format=".2f" if normalize else "d")
    ax.set_title(f"Confusion matrix (accuracy {accuracy_score(y_true, y_pred):.3f})")
    return fig


def classification_report(y_true, y_pred, class_names=None, digits=3, figsize=None):
    """scikit-learn's classification report (precision, recall, F1, support) as a table figure.

    Args:
        y_true: true labels (or one-hot rows).
        y_pred: predicted labels, or probabilities / logits (argmax is taken).
        class_names: names for the classes (default the labels).
        digits: decimals shown.
        figsize: the figure size in inches (default grows with the classes).

    Returns:
        A ``matplotlib.figure.Figure`` holding one table: a row per class,
        then accuracy, macro average and weighted average.

    Example:
        >>> evolab.plot.classification_report(y_test, model.predict(x_test, verbose=0))

    Introduced in 00_welcome.ipynb.
    """
    from sklearn.metrics import classification_report as sklearn_report

    y_true, y_pred = _labels(y_true), _labels(y_pred)
    report = sklearn_report(y_true, y_pred, target_names=None if class_names is None else list(class_names),
                            output_dict=True, zero_division=0)
    header = ["precision", "recall", "f1-score", "support"]
    rows, cells = [], []
    for name, scores in report.items():
        if name == "accuracy":
            rows.append("accuracy")
            cells.append(["", "", f"{scores:.{digits}f}", str(len(y_true))])
        else:
            rows.append(str(name))
            cells.append([f"{scores[k]:.{digits}f}" for k in header[:3]] + [str(int(scores["support"]))])
    fig, axes = _figure(figsize=figsize or (6, 0.3 * len(rows) + 0.9))
    ax = axes[0, 0]
    ax.axis("off")
    table = ax.table(cellText=cells, rowLabels=rows, colLabels=header, loc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    ax.set_title("Classification report")
    return fig


# --------------------------------------------------------------------------- histories


def history(frame, groups=None, max_cols=3, figsize=None):
    """The curves of a run's history: one panel per group of related columns.

    Args:
        frame: a neuroevolution history (a row per generation), a trials
            DataFrame (a row per trial), or a result holding one.
        groups: ``{panel title: [column, ...]}`` (default
            :data:`NEUROEVOLUTION_GROUPS` for histories; for trials the score
            with its best-so-far). Columns that are absent are skipped.
        max_cols: panels per row.
        figsize: the figure size in inches.

    Returns:
        A ``matplotlib.figure.Figure`` with one axes per non-empty group.

    Raises:
        ValueError: when none of the groups' columns is in the frame.

    Example:
        >>> evolab.plot.history(result.history)

    Introduced in 09_neuroevolution_the_hard_way.ipynb.
    """
    frame = _frame(frame, "a history").copy()
    if groups is None:
        if "score" in frame.columns:
            if "best_score" not in frame.columns:
                ok, values = _ok_mask(frame, "score")
                frame["best_score"] = pd.Series(np.where(ok, values, np.nan), index=frame.index).cummax().ffill()
            groups = SEARCH_GROUPS
        else:
            groups = NEUROEVOLUTION_GROUPS
    if "generation" in frame.columns:
        x, xlabel = frame["generation"].to_numpy(), "generation"
    else:
        x, xlabel = np.arange(len(frame)), "trial" if "score" in frame.columns else "generation"
    series = {title: {c: (x, pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float))
                      for c in columns if c in frame.columns}
              for title, columns in groups.items()}
    series = {title: s for title, s in series.items() if s}
    if not series:
        wanted = sorted({c for columns in groups.values() for c in columns})
        raise ValueError(f"Expected some of the columns {wanted}; received columns {list(frame.columns)}")
    nrows, ncols = _grid_shape(len(series), max_cols)
    fig, axes = _figure(nrows, ncols, figsize=figsize or (4.5 * ncols, 3.3 * nrows))
    _plot_groups(axes.reshape(-1), series, xlabel)
    return fig
