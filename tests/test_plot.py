"""evolab.plot: every picture renders with Agg and shows what it claims to show."""

import matplotlib

matplotlib.use("Agg")

import io  # noqa: E402
import types  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from evolab import plot  # noqa: E402


def _render(fig):
    """Draws the figure to PNG bytes (catches errors that only show at draw time)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    return fig


@pytest.fixture(autouse=True)
def no_leaked_figures():
    before = set(plt.get_fignums())
    yield
    assert set(plt.get_fignums()) == before, "a plot function left a figure in pyplot's global state"


def _trials(scores, durations=None, status=None, **params):
    frame = pd.DataFrame({"score": scores, **params})
    frame["status"] = status if status is not None else ["ok"] * len(scores)
    if durations is not None:
        frame["duration"] = durations
    return frame


def _visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


# ----------------------------------------------------------------- convergence


def test_convergence_single_run_draws_best_so_far_and_skips_failed_trials():
    trials = _trials([0.2, 0.9, 0.5, 0.95], durations=[1.0, 2.0, 1.0, 1.0], status=["ok", "failed", "ok", "ok"])
    fig = _render(plot.convergence(trials))
    assert isinstance(fig, Figure)
    ax_evals, ax_seconds = fig.axes
    (line,) = ax_evals.get_lines()
    np.testing.assert_allclose(line.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(line.get_ydata(), [0.2, 0.2, 0.5, 0.95])  # the failed 0.9 does not count
    np.testing.assert_allclose(ax_seconds.get_lines()[0].get_xdata(), [1.0, 3.0, 4.0, 5.0])  # cumulative duration
    assert ax_evals.get_xlabel() == "evaluations" and ax_seconds.get_xlabel() == "seconds"
    assert "best-so-far score" == ax_evals.get_ylabel()


def test_convergence_several_methods_and_seeds_draw_median_and_band():
    rng = np.random.default_rng(0)
    runs = {
        "random": [_trials(rng.random(20), durations=np.full(20, 0.5)) for _ in range(5)],
        "bayesian": [_trials(rng.random(20) + 0.5, durations=np.full(20, 0.5)) for _ in range(5)],
    }
    fig = _render(plot.convergence(runs, x="evaluations"))
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["random (median of 5)", "bayesian (median of 5)"]
    assert len(ax.collections) == 2  # one band per method
    # the median at the last evaluation is the median of the five runs' maxima
    expected = np.median([r["score"].max() for r in runs["bayesian"]])
    assert lines[1].get_ydata()[-1] == pytest.approx(expected)
    assert lines[1].get_ydata()[-1] > lines[0].get_ydata()[-1]


def test_convergence_accepts_neuroevolution_histories_and_result_objects():
    history = pd.DataFrame({"fitness_max": [0.1, 0.3, 0.2, 0.6], "val_accuracy": [0.1, 0.2, 0.3, 0.4],
                            "wall_time": [0.5, 1.0, 1.5, 2.0]})
    result = types.SimpleNamespace(history=history)
    fig = _render(plot.convergence([result, result], population_size=50))
    ax_evals, ax_seconds = fig.axes
    np.testing.assert_allclose(ax_evals.get_lines()[0].get_xdata(), [50, 100, 150, 200])
    np.testing.assert_allclose(ax_evals.get_lines()[0].get_ydata(), [0.1, 0.3, 0.3, 0.6])
    assert ax_evals.get_ylabel() == "best-so-far fitness_max"
    fig = plot.convergence(history, metric="val_accuracy", x="evaluations")
    assert fig.axes[0].get_xlabel() == "generations"
    result = types.SimpleNamespace(history=history, config={"population_size": 8})
    np.testing.assert_allclose(plot.convergence(result).axes[0].get_lines()[0].get_xdata(), [8, 16, 24, 32])


def test_convergence_rejects_bad_input():
    with pytest.raises(ValueError, match="x must be"):
        plot.convergence(_trials([1.0]), x="time")
    with pytest.raises(ValueError, match="needs timings"):
        plot.convergence(pd.DataFrame({"score": [1.0, 2.0]}), x="seconds")
    with pytest.raises(ValueError, match="DataFrame"):
        plot.convergence([[1, 2, 3]])
    with pytest.raises(ValueError, match="'score'"):
        plot.convergence(pd.DataFrame({"loss": [1.0]}))


# ----------------------------------------------------------------- search space


def test_search_space_colours_points_by_score_and_marks_the_best():
    trials = _trials([0.1, 0.7, 0.4, 0.0], status=["ok", "ok", "ok", "failed"],
                     learning_rate=[1e-3, 1e-2, 1e-1, 1.0], optimizer=["adam", "sgd", "adam", "sgd"])
    fig = _render(plot.search_space(trials, "learning_rate", "optimizer", logx=True))
    ax = fig.axes[0]
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    points, failed, best = scatters
    assert len(points.get_offsets()) == 3 and len(failed.get_offsets()) == 1
    np.testing.assert_allclose(points.get_array(), [0.1, 0.7, 0.4])
    np.testing.assert_allclose(best.get_offsets(), [[1e-2, 1.0]])  # sgd is category 1
    assert [t.get_text() for t in ax.get_yticklabels()] == ["adam", "sgd"]
    assert ax.get_xscale() == "log"
    assert "best score = 0.7" in ax.get_title()
    assert len(fig.axes) == 2  # the scatter and its colour bar


def test_search_space_reads_params_dicts_and_prefixed_columns():
    dicts = pd.DataFrame({"score": [1.0, 2.0], "status": ["ok", "ok"], "params": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]})
    ax = plot.search_space(dicts).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("a", "b")
    prefixed = pd.DataFrame({"score": [1.0, 2.0], "params_x": [0.1, 0.2], "params_y": [5, 6]})
    ax = plot.search_space(prefixed).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")
    with pytest.raises(ValueError, match="two parameter names"):
        plot.search_space(prefixed, "x", "nope")


def test_parallel_coordinates_one_line_per_successful_trial():
    rng = np.random.default_rng(1)
    trials = _trials(rng.random(12), learning_rate=rng.random(12), units=rng.integers(8, 64, 12),
                     activation=rng.choice(["relu", "tanh"], 12), status=["ok"] * 11 + ["failed"])
    fig = _render(plot.parallel_coordinates(trials))
    ax = fig.axes[0]
    (collection,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    segments = collection.get_segments()
    assert len(segments) == 11
    assert all(len(s) == 4 for s in segments)  # three parameters and the score
    assert all(0.0 <= v <= 1.0 for s in segments for v in s[:, 1])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["learning_rate", "units", "activation", "score"]
    best_line = ax.get_lines()[0]
    assert best_line.get_ydata()[-1] == pytest.approx(1.0)  # the best trial tops the score axis
    with pytest.raises(ValueError, match="unknown"):
        plot.parallel_coordinates(trials, params=["momentum"])


# ----------------------------------------------------------------- Pareto front


def test_pareto_mask_and_hypervolume_known_values():
    points = np.array([[3, 1], [1, 3], [2, 2], [1, 1], [0.5, 2.5]])
    np.testing.assert_array_equal(plot.pareto_mask(points), [True, True, True, False, False])
    # rectangles from (0, 0): 3x1 + 2x2 + 1x3 overlapping -> staircase area 3*1 + 2*1 + 1*1 = 6
    assert plot.hypervolume(points, reference=(0, 0)) == pytest.approx(6.0)
    # minimizing both flips the front
    np.testing.assert_array_equal(plot.pareto_mask(points, maximize=False), [False, False, False, True, True])
    assert plot.hypervolume([[1, 1]], reference=(2, 3), maximize=False) == pytest.approx(2.0)
    # mixed: maximize accuracy, minimize parameters
    mixed = np.array([[0.9, 1000], [0.8, 100], [0.7, 500]])
    np.testing.assert_array_equal(plot.pareto_mask(mixed, maximize=(True, False)), [True, True, False])


def test_pareto_front_figure_title_and_points():
    rng = np.random.default_rng(2)
    points = rng.random((30, 2))
    fig = _render(plot.pareto_front(points, reference=(0, 0), labels=("accuracy", "speed")))
    ax = fig.axes[0]
    dominated, front = [c for c in ax.collections if isinstance(c, PathCollection)]
    mask = plot.pareto_mask(points)
    assert len(front.get_offsets()) == mask.sum() and len(dominated.get_offsets()) == 30 - mask.sum()
    assert f"hypervolume = {plot.hypervolume(points, (0, 0)):.4g}" in ax.get_title()
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("accuracy", "speed")
    frame = pd.DataFrame(points, columns=["acc", "params"])
    assert plot.pareto_front(frame).axes[0].get_xlabel() == "acc"
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        plot.pareto_front(np.zeros((4, 3)))


def test_pareto_front_accepts_deap_individuals():
    class Fitness:
        def __init__(self, values):
            self.values = values

    individuals = [types.SimpleNamespace(fitness=Fitness(v)) for v in [(1, 2), (2, 1), (0, 0)]]
    ax = plot.pareto_front(individuals).axes[0]
    assert "2 of 3 points" in ax.get_title()


# ----------------------------------------------------------------- populations and weights


def test_population_diversity_and_diversity_plot():
    assert plot.population_diversity(np.ones((5, 3))) == 0.0
    assert plot.population_diversity([[0.0, 0.0], [2.0, 0.0]]) == pytest.approx(1.0)
    rng = np.random.default_rng(3)
    populations = [rng.normal(scale=1.0 / (g + 1), size=(20, 10)) for g in range(6)]
    fig = _render(plot.diversity(populations))
    (line,) = fig.axes[0].get_lines()
    assert len(line.get_ydata()) == 6
    assert np.all(np.diff(line.get_ydata()) < 0)  # shrinking spread shows as a falling line
    fig = plot.diversity(pd.DataFrame({"diversity": [3.0, 2.0, 1.0]}))
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [3.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="'diversity' column"):
        plot.diversity(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="population_size, num_params"):
        plot.population_diversity(np.zeros(4))


def test_weight_histograms_per_variable_for_model_and_vector():
    import keras

    from evolab import weights

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="hidden"),
                              keras.layers.Dense(2, name="out")])
    fig = _render(plot.weight_histograms(model))
    axes = _visible_axes(fig)
    assert len(axes) == 4  # two kernels and two biases
    assert "hidden/kernel: 12 weights" in axes[0].get_title()
    assert sum(len(ax.patches) for ax in axes) == 4 * 40
    vector = np.arange(weights.count_parameters(model), dtype=np.float32)
    fig = plot.weight_histograms(vector, model=model, bins=5)
    assert "mean 5.5" in _visible_axes(fig)[0].get_title()  # hidden/kernel holds 0..11
    fig = plot.weight_histograms(vector)
    assert len(_visible_axes(fig)) == 1 and "23 weights" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="length 23"):
        plot.weight_histograms(np.zeros(7), model=model)


# ----------------------------------------------------------------- classification


def test_misclassified_grid_shows_only_mistakes():
    rng = np.random.default_rng(4)
    x = rng.random((50, 64))
    y_true = rng.integers(0, 10, 50)
    y_pred = y_true.copy()
    wrong = [3, 7, 20]
    y_pred[wrong] = (y_true[wrong] + 1) % 10
    fig = _render(plot.misclassified(x, y_true, y_pred))
    axes = _visible_axes(fig)
    assert len(axes) == 3
    assert axes[0].get_title() == f"{y_true[3]} -> {y_pred[3]}"
    assert axes[0].get_images()[0].get_array().shape == (8, 8)
    assert "3 of 50" in fig.get_suptitle()
    probabilities = np.eye(10)[y_pred]  # predictions as probabilities work too, n caps the grid
    assert len(_visible_axes(plot.misclassified(x.reshape(50, 8, 8, 1), y_true, probabilities, n=2))) == 2
    fig = plot.misclassified(x, y_true, y_true)
    assert "No misclassified" in fig.axes[0].texts[0].get_text()
    with pytest.raises(ValueError, match="same length"):
        plot.misclassified(x, y_true[:10], y_pred)
    with pytest.raises(ValueError, match="square"):
        plot.misclassified(rng.random((50, 10)), y_true, y_pred)


def test_confusion_matrix_counts():
    y_true = [0, 0, 1, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 2, 2]
    fig = _render(plot.confusion_matrix(y_true, y_pred, class_names=["a", "b", "c"]))
    ax = fig.axes[0]
    counts = {(t.get_position()): t.get_text() for t in ax.texts}
    assert counts[(0, 0)] == "1" and counts[(1, 0)] == "1" and counts[(1, 1)] == "2" and counts[(2, 1)] == "1"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert "accuracy 0.667" in ax.get_title()


def test_classification_report_table_matches_sklearn():
    from sklearn.metrics import precision_score

    y_true = [0, 0, 1, 1, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 2, 2, 0]
    fig = _render(plot.classification_report(y_true, y_pred))
    table = fig.axes[0].tables[0]
    cells = table.get_celld()
    texts = {key: cell.get_text().get_text() for key, cell in cells.items()}
    assert [texts[(0, c)] for c in range(4)] == ["precision", "recall", "f1-score", "support"]
    row_labels = [texts[(r, -1)] for r in range(1, 7)]
    assert row_labels == ["0", "1", "2", "accuracy", "macro avg", "weighted avg"]
    expected = precision_score(y_true, y_pred, average=None)
    assert [float(texts[(r, 0)]) for r in (1, 2, 3)] == pytest.approx(expected, abs=1e-3)
    assert texts[(4, 2)] == "0.625" and texts[(1, 3)] == "2"


# ----------------------------------------------------------------- histories


def test_history_panels_follow_the_groups():
    history = pd.DataFrame({"generation": range(5), "fitness_max": np.linspace(0.2, 0.6, 5),
                            "fitness_mean": np.linspace(0.1, 0.4, 5), "fitness_min": np.zeros(5),
                            "val_accuracy": np.linspace(0.2, 0.5, 5), "wall_time": np.arange(5.0)})
    fig = _render(plot.history(history))
    axes = _visible_axes(fig)
    assert [ax.get_title() for ax in axes] == ["fitness", "validation accuracy"]
    assert [ln.get_label() for ln in axes[0].get_lines()] == ["fitness_max", "fitness_mean", "fitness_min"]
    np.testing.assert_allclose(axes[1].get_lines()[0].get_ydata(), history["val_accuracy"])
    trials = _trials([0.3, 0.1, 0.8])
    ax = _visible_axes(plot.history(trials))[0]
    assert ax.get_xlabel() == "trial"
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [0.3, 0.3, 0.8])  # best-so-far added
    with pytest.raises(ValueError, match="Expected some of the columns"):
        plot.history(pd.DataFrame({"x": [1]}))


# ----------------------------------------------------------------- with evolab's own search results


def _quadratic(params):
    return -((params["x"] - 0.3) ** 2) - (params["y"] - 2) ** 2


def test_pictures_of_real_search_results():
    search = pytest.importorskip("evolab.search")
    space = {"x": search.Real(0.0, 1.0), "y": search.Integer(0, 5), "kind": search.Categorical(["a", "b"])}
    objective = lambda p: _quadratic(p) + (0.1 if p["kind"] == "a" else 0.0)  # noqa: E731
    runs = [search.random_search(objective, space, n_trials=15, seed=s) for s in range(3)]
    fig = _render(plot.convergence({"random": runs}))
    ax_evals, ax_seconds = fig.axes
    median = ax_evals.get_lines()[0].get_ydata()
    assert median[-1] == pytest.approx(np.median([r.best_score for r in runs]))
    assert ax_seconds.get_xlabel() == "seconds"  # read from the trials' elapsed column
    ax = plot.search_space(runs[0]).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")  # the result's param_names, not bookkeeping columns
    lines = [c for c in plot.parallel_coordinates(runs[0]).axes[0].collections if isinstance(c, LineCollection)]
    assert len(lines[0].get_segments()) == 15


def test_pareto_front_of_an_nsga2_result_agrees_with_its_hypervolume():
    search = pytest.importorskip("evolab.search")
    space = {"x": search.Real(0.0, 1.0)}
    result = search.nsga2_search(lambda p: {"accuracy": p["x"], "cost": p["x"] ** 2 + 0.1},
                                 space, n_trials=24, population_size=8, seed=0,
                                 directions={"accuracy": "maximize", "cost": "minimize"})
    fig = _render(plot.pareto_front(result))
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("accuracy", "cost")
    assert f"hypervolume = {result.hypervolume:.4g}" in ax.get_title()
    front = [c for c in ax.collections if isinstance(c, PathCollection)][1]
    assert len(front.get_offsets()) == len(result.pareto_front)


def test_convergence_median_over_seeds_never_falls_in_seconds():
    """Runs that start and end at different times: the median best-so-far must still be non-decreasing."""
    fast = pd.DataFrame({"score": [0.97, 0.98], "duration": [0.1, 0.1]})
    slow = pd.DataFrame({"score": [0.2, 0.5, 0.99], "duration": [0.5, 0.5, 0.5]})
    medium = pd.DataFrame({"score": [0.4, 0.6], "duration": [0.3, 0.3]})
    fig = plot.convergence({"random": [fast, slow, medium]}, x="seconds")
    median_line = fig.axes[0].lines[0]
    values = np.asarray(median_line.get_ydata(), dtype=float)
    finite = values[np.isfinite(values)]
    assert finite.size > 0 and np.all(np.diff(finite) >= 0)
    assert finite[-1] == pytest.approx(0.98)  # the median of the three runs' final best (0.98, 0.99, 0.6)
