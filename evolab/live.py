"""Live plots: watch a run's numbers while it runs, without slowing it down.

:class:`LivePlot` is a callback (see :mod:`evolab.callbacks`), so the same
object serves :func:`evolab.neuroevolve` and every method in
:mod:`evolab.search`::

    live = evolab.live.LivePlot()
    result = evolab.neuroevolve(model, data.train, data.validation, callbacks=[live])

Where it draws depends on where the code runs:

* into an ``ipywidgets.Output`` when given one (the control panels in
  :mod:`evolab.widgets` do this), as SVG;
* into the notebook cell, redrawn in place, under a Jupyter kernel (JupyterLab,
  Colab, VS Code, nbval), as PNG;
* into a PNG file (SVG if its name ends in ``.svg``) when given ``path=``
  (also from a script or CI);
* nowhere otherwise: a headless script without ``path`` only records the
  numbers. It never opens a window and never leaves a figure behind.

Redrawing is throttled: at most every ``min_interval`` seconds, and only
while drawing, with one drawing kept in reserve for the end, costs less than
``max_overhead`` (3%) of the run's time so far. The last step is always drawn.
A redraw updates the previous figure in place instead of building a new one.

Introduced in 02_grid_search.ipynb.
"""

from __future__ import annotations

import base64
import io
import math
import numbers
import os
import re
import time

from matplotlib.figure import Figure

from . import plot
from .callbacks import Callback

__all__ = ["LivePlot"]

_ENGINES = ("auto", "livelossplot", "matplotlib")

# Figures that finished runs left behind, by layout (panels, size, step name): a later run with the same panels
# updates one instead of building a new one. Private Figures, never pyplot's; one per layout at most.
_SPARE_FIGURES = {}


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


def _short(value) -> str:
    """A value in at most about five characters: 0.9389, -0.2538, 8273, 10,550 (not 1.055e+04)."""
    return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.4g}"


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
        max_overhead: redraw only while drawing, the final picture included,
            stays within this fraction of the run's time so far (default
            0.03, so a short run is drawn once, at the end); ``None`` turns
            the budget off.
        path: a PNG file rewritten at every redraw, or SVG when the name ends
            in ``.svg`` (default ``None``).
        output: an ``ipywidgets.Output`` to draw into (default ``None``).
        engine: ``"auto"`` (livelossplot when installed, default),
            ``"livelossplot"``, or ``"matplotlib"`` (the plain fallback that
            records the numbers itself).
        max_cols: panels per row (default 3).
        figsize: the figure size in inches (default grows with the panels).
        dpi: the resolution of PNG images (default 80).

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
        self._figure = self._artists = self._layout = None  # the figure being drawn, updated in place
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
        self._give_back_figure()

    def _give_back_figure(self):
        """Leaves the figure for the next run with the same panels (from any LivePlot) to draw on."""
        if self._figure is not None:
            _SPARE_FIGURES[self._layout] = (self._figure, self._artists)
            self._figure = None

    # ------------------------------------------------------------------ drawing

    def _due(self) -> bool:
        """Time for a redraw: ``min_interval`` has passed and the drawing budget allows one more.

        The budget keeps one drawing in reserve for the final picture, so watching a whole run costs at most
        ``max_overhead`` of it, or one drawing when the run is too short to earn any.
        """
        now = time.perf_counter()
        if now - self._last_draw < self.min_interval:
            return False
        if self.max_overhead is None:
            return True
        return self._draw_seconds + 2 * self._draw_cost <= self.max_overhead * (now - self._started)

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
        fig, _ = self._new_figure(self._panels(self._grouped()))
        return fig

    def _panels(self, grouped):
        """``[(group, title, [(name, label, xs, ys)])]``: one panel per non-empty group, in our order.

        The latest value goes in the title of a one-line panel, or beside each line's name in the legend.
        """
        panels = []
        for group in [g for g in (self._active_groups or grouped) if g in grouped]:  # our order, not livelossplot's
            series = [(name, xs, ys) for name, (xs, ys) in grouped[group].items() if ys]
            if len(series) == 1:
                (name, xs, ys), = series
                panels.append((group, f"{group}: {_short(ys[-1])}", [(name, name, xs, ys)]))
            elif series:
                panels.append((group, group, [(name, f"{name} ({_short(ys[-1])})", xs, ys) for name, xs, ys in series]))
        return panels

    def _suptitle(self):
        step_name, total = self._run.get("step_name", "step"), self._run.get("total_steps")
        done = f"{self._last_step + 1} of {total}" if total else f"{self._last_step + 1}"  # a resumed run counts on
        return f"{step_name}s: {done}, {time.perf_counter() - self._started:.1f} s"

    def _new_figure(self, panels):
        """One panel per entry of ``panels`` on a private Figure (no pyplot: safe from any thread).

        Returns the figure and its artists that a later drawing updates in place.
        Text is a large part of a drawing's cost, so the picture has little of it: three or four ticks per axis,
        the step name written once, legends at a fixed place.
        """
        nrows, ncols = plot._grid_shape(max(len(panels), 1), self.max_cols)
        width, height = self.figsize or (4.2 * ncols, 3.0 * nrows + 0.4)
        fig = Figure(figsize=(width, height))
        # Fixed margins: a layout engine ("constrained", "tight") would triple the cost of every redraw.
        fig.subplots_adjust(left=0.7 / width, right=1 - 0.15 / width, bottom=0.5 / height, top=1 - 0.6 / height,
                            wspace=0.3, hspace=0.6)
        axes = fig.subplots(nrows, ncols, squeeze=False).reshape(-1)
        series_by_title = {title: {label: (xs, ys) for _, label, xs, ys in series} for _, title, series in panels}
        drawn = plot._plot_groups(axes, series_by_title, self._run.get("step_name", "step"),
                                  legend_loc="lower right", xlabel_once=True)
        for ax in axes:
            ax.locator_params(nbins=3)
        return fig, {"panels": drawn, "suptitle": fig.suptitle(self._suptitle())}

    def _update(self, grouped) -> None:
        """Brings the figure up to date: the previous drawing's, or a spare one with the same panels, or a new one.

        Re-using a figure saves building it and its ticks again (about a third of a drawing).
        """
        panels = self._panels(grouped)
        layout = (tuple((group, tuple(name for name, *_ in series)) for group, _, series in panels),
                  self.figsize, self.max_cols, self._run.get("step_name", "step"))
        if self._figure is None or layout != self._layout:
            self._give_back_figure()
            self._layout = layout
            spare = _SPARE_FIGURES.pop(layout, None)  # taken, so that no other run draws on it meanwhile
            if spare is None:
                self._figure, self._artists = self._new_figure(panels)
                return
            self._figure, self._artists = spare
        for (ax, title, lines, texts), (_, text, series) in zip(self._artists["panels"], panels):
            title.set_text(text)
            for line, (_, label, xs, ys) in zip(lines, series):
                line.set_data(xs, ys)
                line.set_label(label)
            for legend_text, (_, label, _, _) in zip(texts, series):
                legend_text.set_text(label)
            ax.relim()
            ax.autoscale_view()
        self._artists["suptitle"].set_text(self._suptitle())

    def _encode(self, image_format) -> bytes:
        """The figure as PNG or SVG bytes.

        SVG skips rasterizing text and compressing pixels: it costs half to two thirds of PNG. It goes where
        the picture is only seen live (the widget) or where the file name asks for it; the notebook cell gets
        PNG, because JupyterLab does not show the SVG outputs of a notebook it did not run (an untrusted one).
        """
        buffer = io.BytesIO()
        if image_format == "png":  # level 1: 7% larger than the default 6, in half its time or less
            self._figure.savefig(buffer, format="png", dpi=self.dpi, pil_kwargs={"compress_level": 1})
            return buffer.getvalue()
        self._figure.savefig(buffer, format="svg", metadata={"Date": None})
        # matplotlib sizes SVG in points, which a browser shows a third larger than the PNG: give it the PNG's pixels
        width, height = self._figure.get_size_inches() * self.dpi
        size = f'width="{width:.0f}px" height="{height:.0f}px"'
        svg = buffer.getvalue().decode()
        return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', rf"<svg\1 {size}", svg, count=1).encode()

    def _show(self, grouped) -> None:
        """Draws once per format needed and sends the image to the widget, the notebook cell and/or the file."""
        self._update(grouped)
        images = {}

        def image(image_format):
            if image_format not in images:
                images[image_format] = self._encode(image_format)
            return images[image_format]

        self.num_draws += 1
        if self.path is not None:
            folder = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(folder, exist_ok=True)
            temporary = f"{self.path}.tmp"
            with open(temporary, "wb") as file:
                file.write(image("svg" if str(self.path).lower().endswith(".svg") else "png"))
            os.replace(temporary, self.path)  # a viewer never sees a half-written file
        if self.output is not None:
            # Replacing the whole outputs tuple is safe from the panel's background thread,
            # unlike `with output:` which captures whatever cell the main thread is running.
            # An <img> of the SVG, because JupyterLab does not shrink an "image/svg+xml" output to a narrow cell.
            source = "data:image/svg+xml;base64," + base64.b64encode(image("svg")).decode("ascii")
            html = f'<img src="{source}" style="max-width: 100%; height: auto" alt="evolab live plot">'
            self.output.outputs = ({
                "output_type": "display_data",
                "data": {"text/html": html, "text/plain": "<evolab live plot>"},
                "metadata": {},
            },)
        elif _in_notebook():
            from IPython.display import Image, display

            picture = Image(data=image("png"))
            if self._handle is None:
                self._handle = display(picture, display_id=True)
            else:
                self._handle.update(picture)
