"""evolab.live.LivePlot: records, throttles, draws where it should and nowhere else."""

import matplotlib

matplotlib.use("Agg")

import base64  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from evolab import live as live_module  # noqa: E402
from evolab.callbacks import CallbackList  # noqa: E402
from evolab.live import LivePlot  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def neuro_logs(step):
    return {"fitness_max": 0.1 + 0.01 * step, "fitness_mean": 0.05 + 0.01 * step, "fitness_min": 0.0,
            "val_accuracy": 0.2 + 0.005 * step, "evaluations_per_second": 1000.0, "wall_time": 0.01 * step}


def search_logs(step):
    failed = step == 2
    return {"score": math.nan if failed else float(step % 4), "best_score": 3.0 if step >= 3 else float(step),
            "status": "failed" if failed else "ok", "duration": 0.5, "wall_time": 0.5 * step,
            "params": {"learning_rate": 0.1}}


def run_fake(callbacks, kind="neuroevolution", steps=10, logs=neuro_logs):
    """Drives callbacks exactly as the engines do."""
    callbacks = CallbackList(callbacks if isinstance(callbacks, list) else [callbacks])
    callbacks.on_run_begin({"kind": kind, "step_name": "generation" if kind == "neuroevolution" else "trial",
                            "total_steps": steps})
    for step in range(steps):
        callbacks.on_step_end(step, logs(step))
    callbacks.on_run_end({})


@pytest.fixture(autouse=True)
def no_leaked_figures():
    before = set(plt.get_fignums())
    yield
    assert set(plt.get_fignums()) == before, "LivePlot left a figure in pyplot's global state"


def panel_titles(fig):
    """Panel titles without the latest value a single-line panel shows after a colon."""
    return [ax.get_title().split(":")[0] for ax in fig.axes if ax.get_visible()]


def lines_by_label(fig):
    return {line.get_label().split(" (")[0]: line for ax in fig.axes for line in ax.get_lines()}


@pytest.mark.parametrize("engine", ["livelossplot", "matplotlib"])
def test_headless_without_path_is_silent_but_records(engine, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    live = LivePlot(engine=engine)
    assert not live.visible  # no kernel, no widget, no file
    run_fake(live, steps=12)
    assert live.num_draws == 0 and live.steps == 12
    assert list(tmp_path.iterdir()) == []
    fig = live.figure()
    assert isinstance(fig, Figure)
    assert panel_titles(fig) == ["fitness", "validation accuracy", "evaluations per second"]
    assert fig.axes[1].get_title() == f"validation accuracy: {neuro_logs(11)['val_accuracy']:.4g}"
    lines = lines_by_label(fig)
    assert set(lines) == {"fitness_max", "fitness_mean", "fitness_min", "val_accuracy", "evaluations_per_second"}
    np.testing.assert_allclose(lines["fitness_max"].get_ydata(), [neuro_logs(s)["fitness_max"] for s in range(12)])
    np.testing.assert_allclose(lines["val_accuracy"].get_xdata(), range(12))
    assert "generations: 12 of 12" in fig.get_suptitle()
    if engine == "livelossplot":
        assert live.plot_losses is not None and len(live.plot_losses.logger.log_history["fitness_max"]) == 12


def test_path_writes_a_png_first_step_and_end_only_when_throttled(tmp_path):
    path = tmp_path / "plots" / "live.png"
    live = LivePlot(path=str(path), min_interval=3600)
    run_fake(live, steps=30)
    assert live.num_draws == 1  # a fast run is drawn once, at the end
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert not (tmp_path / "plots" / "live.png.tmp").exists()


def test_unthrottled_draws_every_step_and_the_budget_limits_overhead(tmp_path):
    live = LivePlot(path=str(tmp_path / "a.png"), min_interval=0, max_overhead=None)
    run_fake(live, steps=5)
    assert live.num_draws == 5
    # a fast run never earns enough budget for an intermediate drawing: only the final one
    live = LivePlot(path=str(tmp_path / "b.png"), min_interval=0)
    run_fake(live, steps=20)
    assert live.num_draws == 1


def test_a_slow_run_is_redrawn_within_its_budget(tmp_path):
    live = LivePlot(path=str(tmp_path / "slow.png"), min_interval=0, max_overhead=0.5)

    def slow_logs(step):
        busy_until = time.perf_counter() + 0.05  # each generation "computes" for 50 ms
        while time.perf_counter() < busy_until:
            pass
        return neuro_logs(step)

    started = time.perf_counter()
    run_fake(live, steps=40, logs=slow_logs)
    elapsed = time.perf_counter() - started
    assert 2 <= live.num_draws < 40
    # within the budget, give or take the final drawing and one drawing that cost more than the last
    assert live._draw_seconds <= 0.5 * elapsed + 2 * live._draw_cost + 0.5


def test_search_runs_plot_score_and_best_and_skip_failed_trials():
    live = LivePlot(engine="livelossplot")
    run_fake(live, kind="search", steps=8, logs=search_logs)
    fig = live.figure()
    assert panel_titles(fig) == ["score", "trial duration (s)"]
    lines = lines_by_label(fig)
    assert list(lines["score"].get_xdata()) == [0, 1, 3, 4, 5, 6, 7]  # the failed trial 2 has no score
    assert lines["best_score"].get_ydata()[-1] == 3.0
    assert fig.axes[0].get_xlabel() == "trial"


def test_both_engines_record_the_same_numbers():
    pictures = []
    for engine in ("livelossplot", "matplotlib"):
        live = LivePlot(engine=engine)
        run_fake(live, kind="search", steps=6, logs=search_logs)
        pictures.append({label: list(line.get_ydata()) for label, line in lines_by_label(live.figure()).items()})
    assert pictures[0] == pictures[1]


def test_unknown_kind_and_custom_groups():
    live = LivePlot()
    run_fake(live, kind="custom", steps=3,
             logs=lambda s: {"loss": np.float32(1.0 / (s + 1)), "lr": 0.1, "wall_time": s, "tag": "x", "ok": True})
    assert sorted(panel_titles(live.figure())) == ["loss", "lr"]
    live = LivePlot(groups={"accuracy": ["val_accuracy"]})
    run_fake(live, steps=3)
    (ax,) = [ax for ax in live.figure().axes if ax.get_visible()]
    assert ax.get_title().startswith("accuracy: ") and len(ax.get_lines()) == 1


def test_latest_values_are_short_and_plain():
    live = LivePlot(groups={"speed": ["evaluations_per_second"], "fitness": ["fitness_max", "fitness_min"]})
    run_fake(live, steps=2, logs=lambda s: {"evaluations_per_second": 12345.6, "fitness_max": -0.253849,
                                            "fitness_min": 8273.0})
    fig = live.figure()
    assert fig.axes[0].get_title() == "speed: 12,346"  # not 1.235e+04
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["fitness_max (-0.2538)",
                                                                          "fitness_min (8273)"]


def test_draws_into_an_ipywidgets_output_replacing_the_previous_image():
    ipywidgets = pytest.importorskip("ipywidgets")
    output = ipywidgets.Output()
    live = LivePlot(output=output, min_interval=0, max_overhead=None)
    assert live.visible
    run_fake(live, steps=4)
    assert live.num_draws == 4
    (item,) = output.outputs  # one image, replaced at each draw
    assert item["output_type"] == "display_data"
    html = item["data"]["text/html"]  # an <img> of an SVG: cheaper than PNG; a widget's output is only seen live
    assert html.startswith('<img src="data:image/svg+xml;base64,') and "max-width: 100%" in html
    svg = base64.b64decode(html.split("base64,")[1].split('"')[0]).decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and svg.rstrip().endswith("</svg>")
    assert 'width="1008px" height="272px"' in svg  # the size of the PNG (12.6 x 3.4 inches at 80 dpi), not points
    assert "generations: 4 of 4" in svg  # the text is in it (as glyph paths, with the string in a comment)


def test_path_ending_in_svg_writes_svg(tmp_path):
    live = LivePlot(path=str(tmp_path / "live.svg"), min_interval=3600)
    run_fake(live, steps=5)
    text = (tmp_path / "live.svg").read_text()
    assert "<svg" in text and "generations: 5 of 5" in text


def test_in_a_notebook_it_displays_once_then_updates_in_place(monkeypatch):
    import IPython.display

    shown = []

    class Handle:
        def update(self, obj):
            shown.append(("update", obj))

    def fake_display(obj, display_id=False):
        shown.append(("display", obj))
        assert display_id is True
        return Handle()

    monkeypatch.setattr(live_module, "_in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", fake_display)
    live = LivePlot(min_interval=0, max_overhead=None)
    run_fake(live, steps=3)
    assert [kind for kind, _ in shown] == ["display", "update", "update"]
    assert all(obj.data[:8] == PNG_MAGIC for _, obj in shown)


def test_a_reused_liveplot_starts_fresh_each_run(tmp_path):
    live = LivePlot(path=str(tmp_path / "x.png"), min_interval=3600)
    run_fake(live, steps=5)
    run_fake(live, steps=3)
    assert live.steps == 3 and live.num_draws == 1
    assert len(lines_by_label(live.figure())["fitness_max"].get_xdata()) == 3


def describe(fig):
    """What a picture shows: panel titles, lines (label, data), legend texts, axis limits, the step count."""
    panels = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        legend = ax.get_legend()
        panels.append((ax.get_title(), [(line.get_label(), list(line.get_xdata()), list(line.get_ydata()))
                                        for line in ax.get_lines()],
                       [t.get_text() for t in legend.get_texts()] if legend else [],
                       np.round(ax.get_xlim(), 9).tolist(), np.round(ax.get_ylim(), 9).tolist()))
    return panels, fig.get_suptitle().split(",")[0]


def test_redrawing_in_place_shows_what_a_new_figure_would(tmp_path, monkeypatch):
    def logs(step):  # the validation accuracy is only known from the fourth step: the panels change then
        values = neuro_logs(step)
        values["val_accuracy"] = values["val_accuracy"] if step >= 3 else math.nan
        values["fitness_min"] = -0.3 * step
        return values

    monkeypatch.setattr(live_module, "_SPARE_FIGURES", {})
    built, drawn = [], []
    new_figure, encode = LivePlot._new_figure, LivePlot._encode

    def counted(self, panels):
        built.append(panels)
        return new_figure(self, panels)

    def recorded(self, image_format):
        drawn.append((id(self._figure), describe(self._figure)))
        return encode(self, image_format)

    monkeypatch.setattr(LivePlot, "_new_figure", counted)
    monkeypatch.setattr(LivePlot, "_encode", recorded)
    first = LivePlot(path=str(tmp_path / "x.png"), min_interval=0, max_overhead=None)
    second = LivePlot(path=str(tmp_path / "y.png"), min_interval=0, max_overhead=None)
    for live, steps in ((first, 6), (first, 9), (second, 5)):  # runs after the first draw on its figures
        drawn.clear()
        run_fake(live, steps=steps, logs=logs)
        assert live.num_draws == len(drawn) == steps
        fresh = live.figure()
        assert drawn[-1][1] == describe(fresh)  # the last drawing shows what a new figure shows
        assert describe(fresh)[0][2][0] == "evaluations per second: 1000"
    # built twice in the first run (at step 0, and at step 3 when the validation panel appeared), then only
    # by figure(): later runs took the spare figures, with 2 and then 3 panels
    assert len(built) == 2 + 3
    assert len({figure_id for figure_id, _ in drawn}) == 2


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="engine must be one of"):
        LivePlot(engine="bokeh")
    with pytest.raises(ValueError, match="min_interval"):
        LivePlot(min_interval=-1)
    with pytest.raises(ValueError, match="max_overhead"):
        LivePlot(max_overhead=2)
    with pytest.raises(ValueError, match="groups must be a dict"):
        LivePlot(groups=["fitness_max"])


def test_with_evolab_search_methods(tmp_path):
    search = pytest.importorskip("evolab.search")
    space = {"x": search.Real(-2.0, 2.0), "y": search.Integer(-3, 3)}
    for method in (search.random_search, search.genetic_search):
        live = LivePlot(path=str(tmp_path / "search.png"))
        result = method(lambda p: -(p["x"] ** 2) - p["y"] ** 2, space, n_trials=12, seed=0, callbacks=[live])
        assert live.steps == len(result.trials) == 12
        lines = lines_by_label(live.figure())
        assert lines["best_score"].get_ydata()[-1] == pytest.approx(result.best_score)
        assert (tmp_path / "search.png").read_bytes()[:8] == PNG_MAGIC
