"""evolab.widgets: panels driven from code, without a browser, as a notebook user would drive them."""

import matplotlib

matplotlib.use("Agg")

import base64  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402

import ipywidgets  # noqa: E402
import pytest  # noqa: E402

from evolab import widgets  # noqa: E402
from evolab.callbacks import CallbackList, LambdaCallback  # noqa: E402


def fake_evolution(step_seconds=0.0, fail_at=None):
    """A run_fn shaped like evolab.neuroevolve: reports each generation, honours stop requests."""
    calls = []

    def run(callbacks, population_size, num_generations, learning_rate, sigma, strategy, seed):
        calls.append(dict(population_size=population_size, num_generations=num_generations,
                          learning_rate=learning_rate, sigma=sigma, strategy=strategy, seed=seed))
        callbacks = CallbackList(callbacks)
        callbacks.on_run_begin({"kind": "neuroevolution", "step_name": "generation", "total_steps": num_generations})
        best, generations = -1.0, 0
        try:
            for generation in range(num_generations):
                if generation == fail_at:
                    raise ValueError("Expected sigma to be a finite number > 0, received -7.")
                time.sleep(step_seconds)
                fitness = 1.0 - 1.0 / (generation + 2)
                best = max(best, fitness)
                generations += 1
                callbacks.on_step_end(generation, {"fitness_max": fitness, "fitness_mean": fitness / 2,
                                                   "fitness_min": 0.0, "val_accuracy": fitness * 0.9,
                                                   "evaluations_per_second": 100.0, "wall_time": 0.0})
                if callbacks.stop_requested:
                    break
        finally:
            callbacks.on_run_end({})
        return types.SimpleNamespace(best_fitness=best, generations=generations, strategy=strategy)

    run.calls = calls
    return run


def wait_until(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_run_button_runs_with_the_widget_values_and_advances_the_progress_bar():
    run = fake_evolution()
    panel = widgets.evolution_panel(run, title="Digits")
    assert isinstance(panel, ipywidgets.VBox)
    panel.controls["num_generations"].value = 15
    panel.controls["population_size"].value = 30
    panel.controls["strategy"].value = "pgpe"
    panel.controls["seed"].value = 7
    panel.run_button.click()
    result = panel.wait(timeout=30)
    assert run.calls == [dict(population_size=30, num_generations=15, learning_rate=0.02, sigma=0.03,
                              strategy="pgpe", seed=7)]
    assert result is panel.result and result.generations == 15 and result.strategy == "pgpe"
    assert panel.error is None
    assert (panel.progress.value, panel.progress.max) == (15, 15)
    assert panel.progress.description == "15 / 15"
    assert "Finished after 15 generations" in panel.status.value
    assert not panel.run_button.disabled and panel.stop_button.disabled
    assert not panel.controls["seed"].disabled
    (image,) = panel.output.outputs  # the live plot drew its final picture into the output area
    svg = base64.b64decode(image["data"]["text/html"].split("base64,")[1].split('"')[0]).decode()
    assert "<svg" in svg and "generations: 15 of 15" in svg


def test_stop_ends_a_slow_run_early_and_keeps_the_best_so_far():
    panel = widgets.evolution_panel(fake_evolution(step_seconds=0.02), num_generations=(5, 500, 5, 500))
    panel.run_button.click()
    wait_until(lambda: panel.live_plot.steps >= 3)
    assert panel.running and panel.run_button.disabled and not panel.stop_button.disabled
    assert panel.controls["population_size"].disabled  # knobs are locked while it runs
    panel.stop_button.click()
    result = panel.wait(timeout=30)
    assert 3 <= result.generations < 500
    assert result.best_fitness == pytest.approx(1.0 - 1.0 / (result.generations + 1))
    assert panel.progress.value == result.generations
    assert panel.status.value.startswith("Stopped after")
    # a new run starts afresh: the stop request does not stick
    panel.controls["num_generations"].value = 5
    panel.run()
    assert panel.wait(timeout=30).generations == 5


def test_an_exception_in_run_fn_is_shown_and_kept():
    panel = widgets.evolution_panel(fake_evolution(fail_at=2))
    panel.run_button.click()
    assert panel.wait(timeout=30) is None
    assert isinstance(panel.error, ValueError)
    assert "Expected sigma to be a finite number &gt; 0, received -7." in panel.status.value
    assert "ValueError" in panel.status.value and "Traceback" in panel.traceback
    assert not panel.run_button.disabled and panel.stop_button.disabled
    assert panel.progress.value == 2  # the generations before the failure are still shown


def test_a_second_click_while_running_is_ignored():
    release = threading.Event()
    calls = []

    def run(callbacks, method, n_trials, seed):
        calls.append(method)
        release.wait(10)
        return "done"

    panel = widgets.search_panel(run)
    panel.run_button.click()
    panel.run_button.click()
    panel.run()
    release.set()
    assert panel.wait(timeout=10) == "done"
    assert calls == ["random"]


def test_search_panel_drives_a_search_shaped_run():
    def run(callbacks, method, n_trials, seed, learning_rate):
        callbacks = CallbackList(callbacks)
        callbacks.on_run_begin({"kind": "search", "step_name": "trial", "total_steps": n_trials})
        best = float("-inf")
        for trial in range(n_trials):
            score = -abs(learning_rate - 0.01 * trial)
            best = max(best, score)
            callbacks.on_step_end(trial, {"score": score, "best_score": best, "status": "ok", "duration": 0.0,
                                          "wall_time": 0.0, "params": {"learning_rate": 0.01 * trial}})
        callbacks.on_run_end({})
        return {"method": method, "best_score": best}

    panel = widgets.search_panel(run, method=["bayesian", "random"], n_trials=(5, 50, 5, 10),
                                 learning_rate=(0.0, 1.0, 0.01, 0.05))
    assert list(panel.values) == ["method", "n_trials", "seed", "learning_rate"]
    panel.controls["n_trials"].value = 20
    panel.run()
    result = panel.wait(timeout=30)
    assert result == {"method": "bayesian", "best_score": pytest.approx(0.0)}
    assert (panel.progress.value, panel.progress.max) == (20, 20)
    assert "trials" in panel.status.value


def test_panels_pass_plot_options_and_callbacks_through():
    seen = []

    def run(callbacks, **values):
        callbacks = CallbackList(callbacks)
        callbacks.on_run_begin({"kind": "neuroevolution", "step_name": "generation", "total_steps": 1})
        callbacks.on_step_end(0, {"val_accuracy": 0.5, "fitness_max": 0.4})
        callbacks.on_run_end({})
        return values

    extra = LambdaCallback(on_step_end=lambda step, logs: seen.append(logs["val_accuracy"]))
    groups = {"validation accuracy": ["val_accuracy"]}
    panel = widgets.evolution_panel(run, plot_groups=groups, callbacks=[extra])
    assert panel.live_plot.groups == groups
    panel.run()
    panel.wait(timeout=30)
    assert seen == [0.5]
    assert widgets.search_panel(run, live_plot=False).live_plot is None


def test_make_control_kinds_and_errors():
    assert isinstance(widgets.make_control("units", (8, 128, 8, 32)), ipywidgets.IntSlider)
    slider = widgets.make_control("rate", (0.0, 1.0, 0.05, 0.3))
    assert isinstance(slider, ipywidgets.FloatSlider) and slider.value == pytest.approx(0.3)
    assert slider.description == "rate"
    assert widgets.make_control("opt", ["adam", "sgd"]).value == "adam"
    assert isinstance(widgets.make_control("flag", True), ipywidgets.Checkbox)
    assert isinstance(widgets.make_control("seed", 3), ipywidgets.IntText)
    assert isinstance(widgets.make_control("lr", 0.1), ipywidgets.FloatText)
    mine = ipywidgets.IntSlider(value=4, min=1, max=9)
    assert widgets.make_control("depth", mine) is mine and mine.description == "depth"
    with pytest.raises(ValueError, match="min <= value <= max"):
        widgets.make_control("population_size", (10, 200, 10, 1000))
    with pytest.raises(ValueError, match="expected a widget"):
        widgets.make_control("strategy", {"ga": 1})
    panel = widgets.evolution_panel(fake_evolution(), sigma=None, elitism=2)
    assert "sigma" not in panel.controls and panel.values["elitism"] == 2
    with pytest.raises(ValueError, match="run_fn must be a function"):
        widgets.ControlPanel("not a function", {})


def test_the_default_panel_speaks_the_strategies_vocabulary():
    import numpy as np

    from evolab.strategies import STRATEGIES, get_strategy

    panel = widgets.evolution_panel(fake_evolution())
    assert sorted(panel.controls["strategy"].options) == sorted(STRATEGIES)
    assert panel.controls["strategy"].value != "ga"  # the first choice takes the default sliders as they are
    for name in panel.controls["strategy"].options:
        if name != "ga":  # every evolution strategy takes the default sliders' names
            values = panel.values
            strategy = get_strategy(name, 4, 6, learning_rate=values["learning_rate"], sigma=values["sigma"])
            assert np.all(np.isclose(strategy.current_sigma, values["sigma"]))


def test_wait_times_out_while_running():
    release = threading.Event()
    panel = widgets.ControlPanel(lambda callbacks: release.wait(10), {}, live_plot=False)
    panel.run()
    with pytest.raises(TimeoutError, match="still going"):
        panel.wait(timeout=0.05)
    release.set()
    assert panel.wait(timeout=10) is True


def test_panel_runs_and_stops_the_real_neuroevolve():
    evolab = pytest.importorskip("evolab")
    if not hasattr(evolab, "neuroevolve"):
        pytest.skip("evolab.neuroevolve is not available")
    data = evolab.data.load_digits()
    model = evolab.models.mlp(data.input_shape, hidden_units=(8,))

    def run(callbacks, population_size, num_generations, strategy, seed, **unused_rates):
        return evolab.neuroevolve(model, data.train, data.validation, strategy=strategy,
                                  population_size=population_size, num_generations=num_generations,
                                  batch_size=64, seed=seed, callbacks=callbacks, progress_bar=False)

    panel = widgets.evolution_panel(run, population_size=(4, 40, 2, 10), num_generations=(5, 500, 5, 500))
    panel.controls["strategy"].value = "openai_es"
    panel.run_button.click()
    wait_until(lambda: panel.live_plot.steps >= 2 or not panel.running, timeout=60)
    panel.stop_button.click()
    result = panel.wait(timeout=60)
    assert panel.error is None, panel.traceback
    assert result.stopped == "callback" and 2 <= result.num_generations < 500
    assert len(result.history) == result.num_generations == panel.progress.value
    assert 0.0 <= result.best_val_accuracy <= 1.0
