"""What does watching cost? LivePlot's overhead on a 200-generation neuroevolution run on the digits.

Usage:
    python benchmarks/live_plot_overhead.py [--num-generations 200] [--population-size 50] [--repeats 3]
                                            [--unthrottled] [--simulate-ms 0]

Runs ``evolab.neuroevolve`` (OpenAI-ES, the 2,410-parameter digits MLP) with no callback and with a LivePlot in
each place it can draw: nowhere (a headless script), a PNG file (what a notebook cell shows costs the same), and an
``ipywidgets.Output`` (what a control panel does: SVG; the browser's share is not measured). A LivePlot draws on a
figure that an earlier run with the same panels left behind; one more row takes that figure away, as in the first
run of a session. Configurations are interleaved over ``--repeats`` rounds, each round starting with the next one,
so a busy machine slows them alike. Two overheads are printed: the time spent inside the LivePlot's hooks (measured
around each call; robust to noise) and the difference of median wall times (what a user feels; noisy on a shared
machine). The CPU time of the LivePlot's own thread is printed too. A second table gives the CPU time of one
drawing by image format, on a new figure and on a re-used one, outside any run.

``--unthrottled`` adds a LivePlot that redraws at every generation, to show what throttling saves.
``--simulate-ms N`` replaces the real run by a loop whose generations sleep N ms (for machines without TensorFlow).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402

import evolab  # noqa: E402
from evolab.callbacks import CallbackList  # noqa: E402
from evolab import live as live_module  # noqa: E402
from evolab.live import LivePlot  # noqa: E402


class TimedLivePlot(LivePlot):
    """A LivePlot that adds up the seconds (wall and its thread's CPU) spent in its own hooks."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seconds = self.cpu_seconds = 0.0

    def _timed(self, hook, *args):
        start, cpu_start = time.perf_counter(), time.thread_time()
        hook(*args)
        self.seconds += time.perf_counter() - start
        self.cpu_seconds += time.thread_time() - cpu_start

    def on_run_begin(self, run):
        self.seconds = self.cpu_seconds = 0.0
        self._timed(super().on_run_begin, run)

    def on_step_end(self, step, logs):
        self._timed(super().on_step_end, step, logs)

    def on_run_end(self, logs):
        self._timed(super().on_run_end, logs)


def first_run(**kwargs):
    """A LivePlot that finds no figure left by an earlier run, as in the first run of a session."""
    live_module._SPARE_FIGURES.clear()
    return TimedLivePlot(**kwargs)


def make_run(args):
    if args.simulate_ms:
        def simulated(callbacks):
            callbacks = CallbackList(callbacks)
            callbacks.on_run_begin({"kind": "neuroevolution", "step_name": "generation",
                                    "total_steps": args.num_generations})
            for generation in range(args.num_generations):
                time.sleep(args.simulate_ms / 1000)
                callbacks.on_step_end(generation, {"fitness_max": 1 - 1 / (generation + 2), "fitness_mean": 0.5,
                                                   "fitness_min": 0.1, "val_accuracy": 0.5,
                                                   "evaluations_per_second": 1000.0, "wall_time": 0.0})
            callbacks.on_run_end({})
        return simulated, f"simulated: {args.num_generations} generations of {args.simulate_ms} ms"

    data = evolab.data.load_digits()
    model = evolab.models.mlp(data.input_shape, hidden_units=(32,))
    initial = evolab.get_parameters(model)

    def real(callbacks):
        evolab.set_parameters(model, initial)
        evolab.neuroevolve(model, data.train, data.validation, strategy="openai_es",
                           population_size=args.population_size, num_generations=args.num_generations,
                           seed=0, callbacks=callbacks, progress_bar=False)
    return real, (f"neuroevolve: digits, mlp(64 -> 32 -> 10) = {evolab.count_parameters(model):,} parameters, "
                  f"openai_es, population {args.population_size}, {args.num_generations} generations")


def drawing_costs(num_generations, repeats=15):
    """CPU milliseconds of one drawing of a run's history, by format, on a new figure and on the re-used one."""
    folder = tempfile.mkdtemp(prefix="evolab-draw-")
    rng = np.random.default_rng(0)
    history = [{"fitness_max": -1 / (g + 2) + 0.01 * rng.normal(), "fitness_mean": -2 / (g + 2),
                "fitness_min": -3 / (g + 2), "val_accuracy": 1 - 1 / (g + 2) + 0.01 * rng.normal(),
                "best_val_accuracy": 1 - 1 / (g + 2), "evaluations_per_second": 1e4 * (1 + 0.1 * rng.normal()),
                "wall_time": 0.0} for g in range(num_generations)]
    rows = {}
    for image_format in ("png", "svg"):
        new, reused = [], []
        for _ in range(repeats + 1):  # the first round warms matplotlib's caches
            live_module._SPARE_FIGURES.clear()
            live = LivePlot(path=os.path.join(folder, f"live.{image_format}"), min_interval=1e9)
            CallbackList([live]).on_run_begin({"kind": "neuroevolution", "step_name": "generation",
                                               "total_steps": num_generations})
            for generation, logs in enumerate(history):
                live.on_step_end(generation, logs)
            for times in (new, reused):
                live._pending = True
                start = time.thread_time()
                live.draw()
                times.append(time.thread_time() - start)
        rows[image_format] = (1000 * statistics.median(new[1:]), 1000 * statistics.median(reused[1:]))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-generations", type=int, default=200)
    parser.add_argument("--population-size", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--unthrottled", action="store_true")
    parser.add_argument("--simulate-ms", type=float, default=0.0)
    args = parser.parse_args()

    run, description = make_run(args)
    folder = tempfile.mkdtemp(prefix="evolab-live-")
    configs = {
        "no callback": lambda: None,
        "LivePlot, headless (silent)": lambda: TimedLivePlot(),
        "LivePlot(path=...png)": lambda: TimedLivePlot(path=os.path.join(folder, "live.png")),
        "LivePlot(path=...png), first run of a session": lambda: first_run(path=os.path.join(folder, "first.png")),
    }
    try:
        import ipywidgets

        configs["LivePlot(output=ipywidgets.Output())"] = lambda: TimedLivePlot(output=ipywidgets.Output())
    except ImportError:
        pass
    if args.unthrottled:
        configs["unthrottled (min_interval=0)"] = lambda: TimedLivePlot(path=os.path.join(folder, "every.png"),
                                                                         min_interval=0, max_overhead=None)

    for make in configs.values():  # warm-up: tracing, caches, matplotlib's first figure (fonts)
        live = make()
        run([live] if live else [])
    wall = {name: [] for name in configs}
    inside = {name: [] for name in configs}
    cpu = {name: [] for name in configs}
    draws = {name: [] for name in configs}
    names = list(configs)
    for round_ in range(args.repeats):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:  # each goes first in turn
            live = configs[name]()
            gc.collect()
            start = time.perf_counter()
            run([live] if live else [])
            wall[name].append(time.perf_counter() - start)
            inside[name].append(live.seconds if live else 0.0)
            cpu[name].append(live.cpu_seconds if live else 0.0)
            draws[name].append(live.num_draws if live else 0)

    costs = drawing_costs(args.num_generations)
    base = statistics.median(wall["no callback"])
    print(f"{description}; {args.repeats} interleaved, rotated rounds, medians")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print()
    print("| configuration | wall time (s) | draws | in LivePlot: wall (s) | its CPU (s) | overhead, inside "
          "| overhead, wall |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in configs:
        seconds = statistics.median(wall[name])
        spent = statistics.median(inside[name])
        print(f"| {name} | {seconds:.2f} | {statistics.median(draws[name]):.0f} | {spent:.3f} | "
              f"{statistics.median(cpu[name]):.3f} | {100 * spent / base:.2f}% | "
              f"{100 * (seconds - base) / base:+.1f}% |")

    print()
    print(f"One drawing of {args.num_generations} generations (CPU ms of the drawing thread, median of 15, "
          "outside any run):")
    print()
    print("| image | new figure (first run of a session) | figure re-used (later drawings and runs) |")
    print("|---|---:|---:|")
    for image_format, (new, reused) in costs.items():
        where = {"png": "PNG (notebook cell, .png file)", "svg": "SVG (widget, .svg file)"}[image_format]
        print(f"| {where} | {new:.0f} | {reused:.0f} |")


if __name__ == "__main__":
    main()
