"""Control panels: turn the knobs, press Run, watch evolution happen, press Stop.

A panel (ipywidgets 8) holds sliders and dropdowns, Run and Stop buttons, a
progress bar and a live plot. Run calls your function in a background
thread, so the notebook stays responsive; Stop asks the run to end after the
current generation or trial, keeping its best-so-far. They replace the seed
lessons' Colab-only ``#@param`` forms and work on Colab, Binder, JupyterLab
and VS Code::

    def run(callbacks, strategy, population_size, num_generations, learning_rate, sigma, seed):
        options = dict(mutation_sigma=sigma) if strategy == "ga" else dict(learning_rate=learning_rate, sigma=sigma)
        return evolab.neuroevolve(model, data.train, data.validation, strategy=strategy,
                                  population_size=population_size, num_generations=num_generations,
                                  seed=seed, callbacks=callbacks, **options)

    panel = evolab.widgets.evolution_panel(run)
    panel            # shows the panel; press Run
    panel.result     # the last run's result, once it has finished

Introduced in 09_neuroevolution_the_hard_way.ipynb.
"""

from __future__ import annotations

import html
import numbers
import threading
import time
import traceback

import ipywidgets as widgets

from .callbacks import Callback
from .live import LivePlot, _is_number
from .strategies import STRATEGIES as _REGISTRY

__all__ = ["ControlPanel", "evolution_panel", "search_panel", "make_control"]

#: The strategies :func:`evolab.neuroevolve` knows by name: the evolution strategies first, then the GA.
STRATEGIES = [name for name in _REGISTRY if name != "ga"] + ["ga"]
#: The search methods a search panel offers by default.
SEARCH_METHODS = ["random", "bayesian", "genetic", "pso", "de", "cmaes"]

_STYLE = {"description_width": "initial"}
_HEADLINE = ("fitness_max", "val_accuracy", "score", "best_score")  # the numbers the status line shows


def make_control(name, spec):
    """One widget from a short description, as the panels' keyword arguments take them.

    Args:
        name: the keyword the value is passed as (also the label).
        spec: an ipywidgets widget (used as it is); a tuple
            ``(min, max)``, ``(min, max, step)`` or ``(min, max, step, value)``
            (an integer slider when all are integers, else a float slider);
            a list of choices (a dropdown, the first chosen); a bool (a
            checkbox); an int, float or str (a text box with that value).

    Returns:
        An ipywidgets widget with a ``.value``.

    Raises:
        ValueError: for any other kind of spec.

    Example:
        >>> evolab.widgets.make_control("mutation_rate", (0.0, 1.0, 0.01, 0.1)).value
        0.1

    Introduced in 09_neuroevolution_the_hard_way.ipynb.
    """
    label = name.replace("_", " ")
    if isinstance(spec, widgets.ValueWidget):
        if not getattr(spec, "description", "x"):
            spec.description = label
        return spec
    if isinstance(spec, tuple) and 2 <= len(spec) <= 4 and all(isinstance(v, numbers.Real) for v in spec):
        low, high = spec[0], spec[1]
        is_int = all(isinstance(v, numbers.Integral) for v in spec)
        step = spec[2] if len(spec) > 2 else (1 if is_int else (high - low) / 100)
        value = spec[3] if len(spec) > 3 else low
        if not low < high or not low <= value <= high or step <= 0:
            raise ValueError(f"Control {name!r}: expected (min, max, step, value) with min < max, step > 0 and "
                             f"min <= value <= max; received {spec!r}")
        slider = widgets.IntSlider if is_int else widgets.FloatSlider
        return slider(value=value, min=low, max=high, step=step, description=label, style=_STYLE,
                      continuous_update=False)
    if isinstance(spec, list) and spec:
        return widgets.Dropdown(options=spec, value=spec[0], description=label, style=_STYLE)
    if isinstance(spec, bool):
        return widgets.Checkbox(value=spec, description=label, style=_STYLE)
    if isinstance(spec, numbers.Integral):
        return widgets.IntText(value=int(spec), description=label, style=_STYLE)
    if isinstance(spec, numbers.Real):
        return widgets.FloatText(value=float(spec), description=label, style=_STYLE)
    if isinstance(spec, str):
        return widgets.Text(value=spec, description=label, style=_STYLE)
    raise ValueError(
        f"Control {name!r}: expected a widget, a (min, max[, step[, value]]) tuple, a non-empty list of choices, "
        f"a bool, a number or a string; received {spec!r}"
    )


class _PanelCallback(Callback):
    """Moves the progress bar and carries the Stop button's request into the run."""

    def __init__(self, panel, min_interval=0.1):
        super().__init__()
        self.panel, self.min_interval = panel, min_interval
        self._last = 0.0
        self.steps = 0

    def on_run_begin(self, run):
        self.steps, self._last = 0, 0.0
        self.step_name = run.get("step_name", "step")
        self.total = run.get("total_steps")
        progress = self.panel.progress
        progress.value, progress.max = 0, max(int(self.total or 1), 1)
        self._show()

    def on_step_end(self, step, logs):
        self.steps = step + 1
        if time.perf_counter() - self._last >= self.min_interval:  # a fast search must not flood the browser
            self._show()
            shown = ", ".join(f"{k} {logs[k]:.4g}" for k in _HEADLINE if _is_number(logs.get(k)))
            stopping = "Stopping after this step... " if self.stop_requested else "Running: "
            self.panel.status.value = html.escape(f"{stopping}{self.step_name} {self.steps}: {shown}")

    def on_run_end(self, logs):
        self._show()

    def _show(self):
        self._last = time.perf_counter()
        progress = self.panel.progress
        progress.max = max(progress.max, self.steps)  # an open-ended run grows its bar
        progress.value = self.steps
        progress.description = f"{self.steps} / {self.total if self.total else '?'}"


class ControlPanel(widgets.VBox):
    """A panel of controls, Run and Stop buttons, a progress bar and a live plot.

    Pressing Run (or calling :meth:`run`) calls
    ``run_fn(callbacks=[...], **values)`` in a background thread, where
    ``values`` are the controls' current values by name. The run must pass
    ``callbacks`` on to the engine: they move the progress bar, draw the live
    plot and carry the Stop request.

    Args:
        run_fn: a function ``run_fn(callbacks=..., **values) -> result``.
        controls: ``{name: spec}``; see :func:`make_control` (``None`` leaves
            a control out).
        title: a heading shown above the controls (default none).
        live_plot: show a :class:`evolab.live.LivePlot` (default ``True``).
        plot_groups: the live plot's panels (default by the run's kind).
        min_interval: seconds between live plot redraws (default 1.0).
        callbacks: more callbacks to pass to every run (default none).

    Attributes:
        result: the last finished run's result (``None`` before, during, or after an error).
        error: the exception the last run raised, or ``None``.
        traceback: that exception's traceback as text, or ``None``.
        controls: ``{name: widget}``; set ``.value`` to turn a knob from code.
        run_button, stop_button, progress, status, output: the widgets.

    Raises:
        ValueError: when ``run_fn`` is not callable or a control spec is not understood.

    Example:
        >>> panel = evolab.widgets.ControlPanel(run, {"n_trials": (5, 100, 5, 20), "seed": 0})
        >>> panel.run(); panel.wait().best_score

    Introduced in 09_neuroevolution_the_hard_way.ipynb.
    """

    def __init__(self, run_fn, controls, title=None, live_plot=True, plot_groups=None, min_interval=1.0,
                 callbacks=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(run_fn):
            raise ValueError(f"run_fn must be a function run_fn(callbacks=..., **values); received {run_fn!r}")
        self.run_fn = run_fn
        self.controls = {name: make_control(name, spec) for name, spec in controls.items() if spec is not None}
        self.extra_callbacks = list(callbacks or [])
        self.result = self.error = self.traceback = None
        self._thread = None

        self.run_button = widgets.Button(description="Run", button_style="success", icon="play")
        self.stop_button = widgets.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="0 / ?", style=_STYLE)
        self.status = widgets.HTML(value="Ready.")
        self.output = widgets.Output(layout=widgets.Layout(min_height="50px"))
        self.run_button.on_click(lambda _button: self.run())
        self.stop_button.on_click(lambda _button: self.stop())
        self._panel_callback = _PanelCallback(self)
        # A panel is for watching: it may spend up to 10% of the run's time drawing (a plain LivePlot: 3%).
        self.live_plot = (LivePlot(groups=plot_groups, output=self.output, min_interval=min_interval, max_overhead=0.1)
                          if live_plot else None)

        heading = [widgets.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        self.children = heading + [
            widgets.GridBox(list(self.controls.values()),
                            layout=widgets.Layout(grid_template_columns="repeat(2, minmax(260px, 1fr))")),
            widgets.HBox([self.run_button, self.stop_button, self.progress]),
            self.status,
            self.output,
        ]

    @property
    def values(self) -> dict:
        """The controls' current values by name (what ``run_fn`` receives)."""
        return {name: control.value for name, control in self.controls.items()}

    @property
    def running(self) -> bool:
        """True while a run is in progress."""
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        """Starts a run with the current values in a background thread (what the Run button does).

        Does nothing while a run is already in progress.
        """
        if self.running:
            return
        self.result = self.error = self.traceback = None
        self._panel_callback.reset_stop()
        self._set_running(True)
        self.status.value = "Running..."
        values = self.values
        self._thread = threading.Thread(target=self._work, args=(values,), name="evolab-panel", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Asks the run to stop after the current generation or trial (what the Stop button does)."""
        if self.running:
            self._panel_callback.request_stop()
            self.status.value = "Stopping after this step..."

    def wait(self, timeout=None):
        """Blocks until the run has finished; returns :attr:`result`.

        Args:
            timeout: at most this many seconds (default: as long as it takes).

        Raises:
            TimeoutError: when the run is still going after ``timeout`` seconds.
        """
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"The run is still going after {timeout} s; call stop() or wait longer")
        return self.result

    def _set_running(self, running):
        self.run_button.disabled = running
        self.stop_button.disabled = not running
        for control in self.controls.values():
            control.disabled = running

    def _work(self, values):
        callbacks = [self._panel_callback] + ([self.live_plot] if self.live_plot else []) + self.extra_callbacks
        started = time.perf_counter()
        try:
            self.result = self.run_fn(callbacks=callbacks, **values)
        except Exception as error:  # shown in the panel and kept in .error, never lost in the thread
            self.error, self.traceback = error, traceback.format_exc()
            self.status.value = (
                f"<span style='color:#b00020'><b>Error: {html.escape(type(error).__name__)}: "
                f"{html.escape(str(error))}</b></span>"
                f"<details><summary>traceback</summary><pre>{html.escape(self.traceback)}</pre></details>"
            )
        else:
            steps = self._panel_callback.steps
            how = "Stopped" if self._panel_callback.stop_requested else "Finished"
            step_name = getattr(self._panel_callback, "step_name", "step")
            self.status.value = (f"{how} after {steps} {step_name}{'s' if steps != 1 else ''} "
                                 f"in {time.perf_counter() - started:.1f} s. The result is in <code>.result</code>.")
        finally:
            self._set_running(False)


def evolution_panel(run_fn, population_size=(10, 200, 10, 50), num_generations=(5, 500, 5, 50),
                    learning_rate=(0.001, 0.1, 0.001, 0.02), sigma=(0.005, 0.2, 0.005, 0.03), strategy=STRATEGIES, seed=0, title="Neuroevolution", live_plot=True, plot_groups=None,
                    callbacks=None, **more_controls):
    """A control panel for a neuroevolution run (or any generational run).

    Each keyword is a control spec (see :func:`make_control`); ``None``
    leaves that control out, and extra keywords add controls.

    Args:
        run_fn: ``run_fn(callbacks=..., population_size=..., num_generations=...,
            learning_rate=..., sigma=..., strategy=..., seed=..., **more) -> result``.
        population_size: default a slider 10..200, step 10, at 50.
        num_generations: default a slider 5..500, step 5, at 50.
        learning_rate: default a slider 0.001..0.1, step 0.001, at 0.02 (the
            center's step size of every evolution strategy).
        sigma: default a slider 0.005..0.2, step 0.005, at 0.03 (their initial
            noise scale; a GA would use it as ``mutation_sigma``).
        strategy: default a dropdown of ``"openai_es"``, ``"pgpe"``, ``"snes"``,
            ``"lowrank_es"``, ``"ga"`` (every name in :data:`evolab.strategies.STRATEGIES`).
        seed: default an integer box at 0.
        title: the heading (default ``"Neuroevolution"``).
        live_plot, plot_groups, callbacks: as in :class:`ControlPanel`; e.g.
            ``plot_groups={"validation accuracy": ["val_accuracy"]}`` draws one panel.
        **more_controls: more control specs by name.

    Returns:
        A :class:`ControlPanel`; show it by leaving it last in a cell.

    Example:
        >>> run = lambda callbacks, strategy, population_size, num_generations, seed, learning_rate: evolab.neuroevolve(
        ...     model, data.train, data.validation, strategy=strategy, population_size=population_size,
        ...     num_generations=num_generations, seed=seed, callbacks=callbacks, learning_rate=learning_rate)
        >>> evolab.widgets.evolution_panel(run, strategy=["openai_es", "pgpe"], sigma=None)

    Introduced in 09_neuroevolution_the_hard_way.ipynb.
    """
    controls = dict(population_size=population_size, num_generations=num_generations, learning_rate=learning_rate,
                    sigma=sigma, strategy=list(strategy) if strategy else strategy, seed=seed)
    return ControlPanel(run_fn, {**controls, **more_controls}, title=title, live_plot=live_plot,
                        plot_groups=plot_groups, callbacks=callbacks)


def search_panel(run_fn, method=SEARCH_METHODS, n_trials=(5, 200, 5, 30), seed=0, title="Hyperparameter search",
                 live_plot=True, plot_groups=None, callbacks=None, **more_controls):
    """A control panel for a hyperparameter search.

    Args:
        run_fn: ``run_fn(callbacks=..., method=..., n_trials=..., seed=..., **more) -> result``.
        method: default a dropdown of evolab's sampling search methods.
        n_trials: default a slider 5..200, step 5, at 30.
        seed: default an integer box at 0.
        title: the heading (default ``"Hyperparameter search"``).
        live_plot, plot_groups, callbacks: as in :class:`ControlPanel`.
        **more_controls: more control specs by name (e.g. ``population_size=(4, 40, 2, 10)``
            for the genetic search).

    Returns:
        A :class:`ControlPanel`.

    Example:
        >>> def run(callbacks, method, n_trials, seed):
        ...     search = getattr(evolab.search, f"{method}_search")
        ...     return search(objective, space, n_trials=n_trials, seed=seed, callbacks=callbacks)
        >>> evolab.widgets.search_panel(run)

    Introduced in 03_random_search.ipynb.
    """
    controls = dict(method=list(method) if method else method, n_trials=n_trials, seed=seed)
    return ControlPanel(run_fn, {**controls, **more_controls}, title=title, live_plot=live_plot,
                        plot_groups=plot_groups, callbacks=callbacks)
