"""A fair race: compare search methods on best-so-far after equal numbers of evaluations.

Introduced in 03_random_search.ipynb.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .result import SearchResult

__all__ = ["compare"]


def compare(results, at=(10, 30, 100), plot=True, figsize=None):
    """Tabulates (and plots) several searches: the median best score after ``at`` evaluations.

    Args:
        results: a dict ``{method name: SearchResult or list of SearchResults}``
            (a list holds the same method's runs with different seeds).
        at: evaluation counts at which to read each run's best-so-far score.
        plot: also draw best-so-far against evaluations and against seconds
            (``evolab.plot.convergence``); the figure is shown in a notebook and
            kept in ``table.attrs["figure"]``.
        figsize: the figure's size in inches (default: ``evolab.plot.convergence``'s).

    Returns:
        A DataFrame indexed by method: ``runs``, ``evaluations`` and
        ``seconds`` (medians), ``best@k`` for each ``k`` in ``at`` (median
        over runs; NaN where a run made fewer than ``k`` evaluations) and
        ``best`` (median final best), sorted by ``best``.

    Example:
        >>> table = evolab.search.compare({"random": random_runs, "bayesian": bayesian_runs})

    Introduced in 03_random_search.ipynb.
    """
    if not isinstance(results, dict) or not results:
        raise ValueError(f"results must be a non-empty dict of name -> SearchResult (or list); received {results!r}")
    runs = {}
    for name, value in results.items():
        value = list(value) if isinstance(value, (list, tuple)) else [value]
        if not value or not all(isinstance(r, SearchResult) for r in value):
            raise ValueError(f"results[{name!r}] must be a SearchResult or a non-empty list of them; received {value!r}")
        runs[name] = value
    rows = {}
    for name, method_runs in runs.items():
        row = {"runs": len(method_runs),
               "evaluations": float(np.median([r.num_trials for r in method_runs])),
               "seconds": float(np.median([r.trials["elapsed"].max() if r.num_trials else 0.0 for r in method_runs]))}
        for k in at:
            row[f"best@{k}"] = float(np.median([r.best_at(k) if r.num_trials >= k else np.nan for r in method_runs]))
        row["best"] = float(np.median([r.best_score for r in method_runs]))
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index").sort_values("best", ascending=False)
    table.index.name = "method"
    if plot:
        from .. import plot as evolab_plot

        figure = evolab_plot.convergence(runs, figsize=figsize)
        table.attrs["figure"] = figure
        _show(figure)
    return table


def _show(figure):
    """Displays a figure in a notebook (``plot.convergence`` returns it detached from pyplot)."""
    import sys

    if "IPython" in sys.modules:
        from IPython import get_ipython

        if get_ipython() is not None:
            from IPython.display import display

            display(figure)
