"""Live plots: watch a run's numbers while it runs, without slowing it down.

:class:`LivePlot` is a callback (see :mod:`evolab.callbacks`), so the same
object serves :func:`evolab.neuroevolve` and every method in
:mod:`evolab.search`::

    live = evolab.live.LivePlot()
    result = evolab.neuroevolve(model, data.train, data.validation, callbacks=[live])

Where it draws depends on where the code runs:

* into an ``ipywidgets.Output`` when given one (the control panels in
  :mod:`evolab.widgets` do this);
* into the notebook cell, redrawn in place, under a Jupyter kernel (JupyterLab,
  Colab, VS Code, nbval);
* into a PNG file when given ``path=`` (also from a script or CI);
* nowhere otherwise: a headless script without ``path`` only records the
  numbers. It never opens a window and never leaves a figure behind.

Redrawing is throttled: at most every ``min_interval`` seconds, and only
while drawing has cost less than ``max_overhead`` (3%) of the run's time so
far. The last step is always drawn.

Introduced in 02_grid_search.ipynb.
"""

from __future__ import annotations

import base64
import io
import math
import numbers
import os
import time

from matplotlib.figure import Figure

from . import plot
from .callbacks import Callback

__all__ = ["LivePlot"]

_ENGINES = ("auto", "livelossplot", "matplotlib")


def _in_notebook() -> bool:
    """True under a Jupyter kernel (Jupyter, VS Code, nbval) or Colab; False in scripts and the IPython REPL."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ in {"ZMQInteractiveShell", "Shell"}


def _is_number(value) -> bool:
    """A finite real number (Python or NumPy), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _grouped_history(logger):
    """livelossplot's history as ``{group: {key: ([steps], [values])}}``."""
    history = logger.grouped_log_history(raw_names=True, raw_group_names=True)
    return {group: {name: ([item.step for item in items], [item.value for item in items])
                    for name, items in series.items()}
            for group, series in history.items()}


def _livelossplot_recorder(groups, step_name, show):
    """A livelossplot ``PlotLosses`` whose only output hands its grouped history to ``show``."""
    from livelossplot import PlotLosses
    from livelossplot.outputs import BaseOutput

    class FigureOutput(BaseOutput):
        # livelossplot's own MatplotlibPlot draws through pyplot (global figures, plt.pause in scripts,
        # unsafe from the panel's background thread); this output draws on a private Figure instead.
        def send(self, logger):
            show(_grouped_history(logger))

    return PlotLosses(outputs=[FigureOutput()], mode="script", groups=groups, step_names=step_name)


class LivePlot(Callback):
    """A callback that plots the run's metrics as they come, built on livelossplot.

    The panels follow the run's kind: for neuroevolution the fitness
    (max / mean / min), the validation accuracy and evaluations per second;
    for searches each trial's score with the best-so-far, and trial
    durations. Non-numeric and non-finite values (a failed trial's score) are
    skipped.

    Args:
        groups: ``{panel title: [log key, ...]}`` (default
            :data:`evolab.plot.NEUROEVOLUTION_GROUPS` or
            :data:`evolab.plot.SEARCH_GROUPS` by the run's kind; for another
            kind, one panel per numeric key).
        min_interval: redraw at most every this many seconds (default 2.0).
        max_overhead: redraw only while drawing has taken at most this
            fraction of the run's time so far (default 0.03, so a short run
            is drawn once, at the end); ``None`` turns the budget off.
        path: a PNG file rewritten at every redraw (default ``None``).
        output: an ``ipywidgets.Output`` to draw into (default ``None``).
        engine: ``"auto"`` (livelossplot when installed, default),
            ``"livelossplot"``, or ``"matplotlib"`` (the plain fallback that
            records the numbers itself).
        max_cols: panels per row (default 3).
        figsize: the figure size in inches (default grows with the panels).
        dpi: the resolution of the drawn image (default 80).

    Attributes:
        num_draws: how many times the figure was drawn during the last run.
        steps: how many steps the last run reported.

    Raises:
        ValueError: for an unknown engine, malformed ``groups``, a negative
            ``min_interval`` or a ``max_overhead`` outside (0, 1].

    Example:
        >>> live = evolab.live.LivePlot(path="results/live.png")
        >>> result = evolab.search.random_search(objective, space, n_trials=50, callbacks=[live])

    Introduced in 02_grid_search.ipynb.
    """

    _known_draw_cost = 0.2  # seconds; a guess until the first drawing in this process is timed

    def __init__(self, groups=None, min_interval=2.0, max_overhead=0.03, path=None, output=None, engine="auto",
                 max_cols=3, figsize=None, dpi=80):
        super().__init__()
        if engine not in _ENGINES:
            raise ValueError(f"engine must be one of {_ENGINES}; received {engine!r}")
        if not _is_number(min_interval) or min_interval < 0:
            raise ValueError(f"min_interval must be a number of seconds >= 0; received {min_interval!r}")
        if max_overhead is not None and not (_is_number(max_overhead) and 0 < max_overhead <= 1):
            raise ValueError(f"max_overhead must be None or a fraction in (0, 1]; received {max_overhead!r}")
        if groups is not None and not (isinstance(groups, dict) and all(
                isinstance(keys, (list, tuple)) and all(isinstance(k, str) for k in keys) for keys in groups.values())):
            raise ValueError(f"groups must be a dict {{panel title: [log key, ...]}}; received {groups!r}")
        if engine == "auto":
            try:
                import livelossplot  # noqa: F401

                engine = "livelossplot"
            except ImportError:
                engine = "matplotlib"
        self.groups, self.engine = groups, engine
        self.min_interval, self.max_overhead = float(min_interval), max_overhead
        self.path, self.output = path, output
        self.max_cols, self.figsize, self.dpi = max_cols, figsize, dpi
        self._reset({})

    def _reset(self, run):
        self._run = dict(run)
        self._active_groups = None
        self._keys = set()
        self.plot_losses = None  # livelossplot's PlotLosses for the current run (engine "livelossplot")
        self._series = {}  # the plain engine's record: {key: ([steps], [values])}
        self._handle = None  # the notebook display being updated in place
        self._started = time.perf_counter()
        self._last_draw = self._started  # the first picture comes after min_interval, or at the end
        self._draw_seconds = 0.0  # spent drawing during this run
        self._draw_cost = LivePlot._known_draw_cost  # what one drawing costs, as last timed in this process
        self._pending = False
        self.num_draws = 0
        self.steps = 0
        self._last_step = -1

    @property
    def visible(self) -> bool:
        """True when a redraw goes somewhere (a widget, a notebook cell or a file)."""
        return self.output is not None or self.path is not None or _in_notebook()

    # ------------------------------------------------------------------ callback hooks

    def on_run_begin(self, run):
        self._reset(run)

    def on_step_end(self, step, logs):
        if self._active_groups is None:
            self._start(logs)
        numbers = {k: float(v) for k, v in logs.items() if k in self._keys and _is_number(v)}
        if self.plot_losses is not None:
            self.plot_losses.update(numbers, current_step=step)
        else:
            for key, value in numbers.items():
                xs, ys = self._series.setdefault(key, ([], []))
                xs.append(step)
                ys.append(value)
        self.steps += 1
        self._last_step = step
        self._pending = True
        if self.visible and self._due():
            self.draw()

    def on_run_end(self, logs):
        if self._pending and self.visible:
            self.draw()

    # ------------------------------------------------------------------ drawing

    def _due(self) -> bool:
        """Time for a redraw: ``min_interval`` has passed and the drawing budget allows one more."""
        now = time.perf_counter()
        if now - self._last_draw < self.min_interval:
            return False
        if self.max_overhead is None:
            return True
        return self._draw_seconds + self._draw_cost <= self.max_overhead * (now - self._started)

    def _start(self, first_logs):
        """Fixes the panels at the first step (their keys may only be known then)."""
        kind = self._run.get("kind")
        groups = self.groups
        if groups is None:
            groups = {"neuroevolution": plot.NEUROEVOLUTION_GROUPS, "search": plot.SEARCH_GROUPS}.get(kind)
        if groups is None:
            groups = {k: [k] for k, v in first_logs.items() if _is_number(v) and k != "wall_time"}
        self._active_groups = {title: list(keys) for title, keys in groups.items()}
        self._keys = {k for keys in self._active_groups.values() for k in keys}
        if self.engine == "livelossplot":
            step_name = self._run.get("step_name", "step")
            self.plot_losses = _livelossplot_recorder(self._active_groups, step_name, self._show)

    def draw(self) -> None:
        """Draws the current numbers now (the callback calls this; a lesson rarely needs to)."""
        if self._active_groups is None:
            return
        began = time.perf_counter()
        if self.plot_losses is not None:
            self.plot_losses.send()  # livelossplot hands its grouped history to self._show
        else:
            self._show(self._grouped())
        self._last_draw = time.perf_counter()
        self._draw_cost = LivePlot._known_draw_cost = self._last_draw - began
        self._draw_seconds += self._draw_cost
        self._pending = False

    def _grouped(self):
        if self.plot_losses is not None:
            return _grouped_history(self.plot_losses.logger)
        return {group: {k: self._series[k] for k in keys if k in self._series}
                for group, keys in (self._active_groups or {}).items()}

    def figure(self) -> Figure:
        """The current picture as a new ``matplotlib.figure.Figure``, shown nowhere.

        Example:
            >>> live.figure().savefig("run.png")
        """
        return self._build(self._grouped())

    def _build(self, grouped) -> Figure:
        """One panel per non-empty group, on a private Figure (no pyplot: safe from any thread)."""
        panels = {}
        for group in [g for g in (self._active_groups or grouped) if g in grouped]:  # our order, not livelossplot's
            series = {name: (xs, ys) for name, (xs, ys) in grouped[group].items() if ys}
            if len(series) == 1:  # the latest value goes in the title, or beside each line in the legend
                panels[f"{group}: {next(iter(series.values()))[1][-1]:.4g}"] = series
            elif series:
                panels[group] = {f"{name} ({ys[-1]:.4g})": (xs, ys) for name, (xs, ys) in series.items()}
        nrows, ncols = plot._grid_shape(max(len(panels), 1), self.max_cols)
        width, height = self.figsize or (4.2 * ncols, 3.0 * nrows + 0.4)
        fig = Figure(figsize=(width, height))
        # Fixed margins: a layout engine ("constrained", "tight") would triple the cost of every redraw.
        fig.subplots_adjust(left=0.7 / width, right=1 - 0.15 / width, bottom=0.5 / height, top=1 - 0.6 / height,
                            wspace=0.3, hspace=0.6)
        axes = fig.subplots(nrows, ncols, squeeze=False).reshape(-1)
        step_name = self._run.get("step_name", "step")
        plot._plot_groups(axes, panels, step_name)
        for ax in axes:
            ax.locator_params(nbins=4)  # fewer tick labels: text is most of a redraw's cost
        total = self._run.get("total_steps")
        done = f"{self._last_step + 1} of {total}" if total else f"{self._last_step + 1}"  # a resumed run counts on
        fig.suptitle(f"{step_name}s: {done}, {time.perf_counter() - self._started:.1f} s")
        return fig

    def _show(self, grouped) -> None:
        """Renders once to PNG and sends the image to the widget, the notebook cell and/or the file."""
        fig = self._build(grouped)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=self.dpi)
        png = buffer.getvalue()
        self.num_draws += 1
        if self.path is not None:
            folder = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(folder, exist_ok=True)
            temporary = f"{self.path}.tmp"
            with open(temporary, "wb") as file:
                file.write(png)
            os.replace(temporary, self.path)  # a viewer never sees a half-written file
        if self.output is not None:
            # Replacing the whole outputs tuple is safe from the panel's background thread,
            # unlike `with output:` which captures whatever cell the main thread is running.
            self.output.outputs = ({
                "output_type": "display_data",
                "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": "<evolab live plot>"},
                "metadata": {},
            },)
        elif _in_notebook():
            from IPython.display import Image, display

            if self._handle is None:
                self._handle = display(Image(data=png), display_id=True)
            else:
                self._handle.update(Image(data=png))
