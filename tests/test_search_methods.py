"""Every search method: correctness against scikit-learn, convergence on DEAP benchmarks, faults, budgets, resume."""

import functools
import time

import numpy as np
import pytest
from deap import benchmarks

from evolab import callbacks as cb
from evolab import search
from evolab.search import Integer, Real, SearchFailedError, SuccessiveHalvingPruner, TrialPruned


def sphere_problem(dims):
    space = {f"x{i}": Real(-5.0, 5.0) for i in range(dims)}

    def objective(params):
        return -benchmarks.sphere([params[f"x{i}"] for i in range(dims)])[0]

    return space, objective


SEEDS = range(5)


def median_best(method, dims, budget, **kwargs):
    space, objective = sphere_problem(dims)
    return float(np.median([method(objective, space, n_trials=budget, seed=s, **kwargs).best_score for s in SEEDS]))


# --- correctness: grid search agrees with scikit-learn ------------------------------------
def test_grid_search_matches_gridsearchcv():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
    from sklearn.svm import SVC

    x, y = load_digits(return_X_y=True)
    x, y = x[:400] / 16.0, y[:400]
    cv = KFold(n_splits=3, shuffle=True, random_state=0)
    grid = {"C": [0.1, 1.0, 10.0], "gamma": [0.001, 0.01, 0.1, 1.0]}
    reference = GridSearchCV(SVC(), grid, cv=cv).fit(x, y)

    def objective(params):
        return cross_val_score(SVC(**params), x, y, cv=cv).mean()

    result = search.grid_search(objective, grid)
    assert result.best_params == reference.best_params_
    assert result.best_score == pytest.approx(reference.best_score_)
    assert len(result.trials) == 12 and (result.trials["status"] == "ok").all()
    assert result.trials["score"].to_numpy() == pytest.approx(reference.cv_results_["mean_test_score"])


# --- convergence on DEAP benchmark functions ----------------------------------------------
# (method, keyword arguments, dimensions, budget, median best score it must reach)
CONVERGENCE = [
    (search.bayesian_search, {}, 2, 200, -0.02),
    (search.genetic_search, {}, 2, 200, -0.02),
    (search.genetic_search, {"encoding": "binary"}, 2, 200, -0.05),
    (search.pso_search, {}, 2, 200, -0.02),
    (search.de_search, {}, 2, 200, -0.02),
    (search.cmaes_search, {}, 2, 200, -0.02),
    (search.bayesian_search, {}, 5, 200, -0.2),
    (search.pso_search, {}, 5, 200, -0.3),
    (search.cmaes_search, {}, 5, 200, -0.1),
    (search.genetic_search, {}, 5, 500, -0.2),
    (search.de_search, {}, 5, 500, -0.2),
]


@pytest.mark.parametrize("method, kwargs, dims, budget, target", CONVERGENCE,
                         ids=[f"{m.__name__}-{k.get('encoding', '')}-{d}d" for m, k, d, _, _ in CONVERGENCE])
def test_methods_get_close_to_the_optimum_and_beat_random_search(method, kwargs, dims, budget, target):
    best = median_best(method, dims, budget, **kwargs)
    baseline = median_best(search.random_search, dims, budget)
    assert best > target, f"{method.__name__} reached only {best:.4g} (target {target})"
    assert best > baseline, f"{method.__name__} ({best:.4g}) did not beat random search ({baseline:.4g})"


def test_hyperopt_engine_beats_random_search_on_the_median():
    best = median_best(search.bayesian_search, 2, 60, engine="hyperopt")
    assert best > median_best(search.random_search, 2, 60)
    assert best > -0.3


ALL_METHODS = [search.random_search, search.bayesian_search, search.genetic_search, search.pso_search,
               search.de_search, search.cmaes_search]


@pytest.mark.parametrize("method", ALL_METHODS, ids=lambda m: m.__name__)
def test_same_seed_same_trials(method):
    space, objective = sphere_problem(3)
    space["units"] = Integer(8, 64, log=True)
    space["kind"] = ["a", "b", "c"]
    first = method(objective, space, n_trials=25, seed=11)
    second = method(objective, space, n_trials=25, seed=11)
    other = method(objective, space, n_trials=25, seed=12)
    names = list(space)
    assert first.trials[names].equals(second.trials[names])
    assert not first.trials[names].equals(other.trials[names])
    assert len(first.trials) == 25 and first.trials["number"].tolist() == list(range(25))


# --- faults and budgets ---------------------------------------------------------------------
SPACE = {"x": Real(-1.0, 1.0), "y": Real(-1.0, 1.0)}


def flaky(params):
    if params["x"] < -0.5:
        raise RuntimeError("x too small")
    if params["y"] < -0.5:
        return float("nan")
    return -(params["x"] ** 2 + params["y"] ** 2)


@pytest.mark.parametrize("method", ALL_METHODS, ids=lambda m: m.__name__)
def test_failed_trials_are_recorded_and_the_search_goes_on(method):
    result = method(flaky, SPACE, n_trials=30, seed=0)
    trials = result.trials
    assert len(trials) == 30
    failed = trials[trials["status"] == "failed"]
    assert len(failed) > 0 and (trials["status"] == "ok").sum() > 0
    assert set(failed["error"]) <= {"RuntimeError: x too small", "the objective returned NaN"}
    assert trials.loc[trials["status"] == "ok", "error"].isna().all()
    assert result.best_params["x"] >= -0.5 and result.best_params["y"] >= -0.5
    assert np.isfinite(result.best_score)


def test_all_failed_raises_a_clear_error():
    def broken(params):
        raise ValueError("the data file is missing")

    with pytest.raises(SearchFailedError, match="all 5 trials of random failed.*the data file is missing") as info:
        search.random_search(broken, SPACE, n_trials=5, seed=0)
    assert len(info.value.result.trials) == 5


def test_objective_must_return_a_number():
    result = search.random_search(lambda p: "0.5" if p["x"] > 0 else 1.0, SPACE, n_trials=10, seed=0)
    errors = result.trials["error"].dropna()
    assert len(errors) > 0 and errors.str.contains("must return a number; received str").all()


def test_budget_by_seconds():
    def slow(params):
        time.sleep(0.02)
        return params["x"]

    started = time.time()
    result = search.random_search(slow, SPACE, n_trials=10_000, timeout=0.3, seed=0)
    assert time.time() - started < 1.5
    assert 3 <= len(result.trials) < 100 and result.stopped_by == "timeout"
    timed = search.genetic_search(slow, SPACE, timeout=0.3, seed=0)  # seconds alone are a budget too
    assert timed.stopped_by == "timeout" and len(timed.trials) >= 3
    with pytest.raises(ValueError, match="give a budget"):
        search.random_search(slow, SPACE)
    with pytest.raises(ValueError, match="n_trials must be a positive int; received 0"):
        search.random_search(slow, SPACE, n_trials=0)


def interrupting_at(k, objective):
    calls = {"n": 0}

    @functools.wraps(objective)  # keeps the objective's name, which a checkpoint's resume checks
    def wrapped(params):
        calls["n"] += 1
        if calls["n"] == k + 1:
            raise KeyboardInterrupt
        return objective(params)

    return wrapped


@pytest.mark.parametrize("method", ALL_METHODS, ids=lambda m: m.__name__)
def test_keyboard_interrupt_returns_the_result_so_far(method):
    space, objective = sphere_problem(2)
    ended = []
    result = method(interrupting_at(7, objective), space, n_trials=50, seed=0,
                    callbacks=[cb.LambdaCallback(on_run_end=ended.append)])
    assert result.interrupted and result.stopped_by == "interrupt"
    assert len(result.trials) == 7 and (result.trials["status"] == "ok").all()
    assert result.best_score == pytest.approx(result.trials["score"].max())
    assert ended and ended[0]["num_trials"] == 7


def test_callbacks_receive_the_protocol_and_can_stop_the_search():
    class Recorder(cb.Callback):
        def __init__(self):
            super().__init__()
            self.run, self.steps, self.end = None, [], None

        def on_run_begin(self, run):
            self.run = run

        def on_step_end(self, step, logs):
            self.steps.append((step, logs))
            if step == 3:
                self.request_stop()

        def on_run_end(self, logs):
            self.end = logs

    recorder = Recorder()
    result = search.bayesian_search(flaky, SPACE, n_trials=20, seed=0, callbacks=[recorder])
    assert recorder.run == {"kind": "search", "step_name": "trial", "total_steps": 20, "method": "bayesian"}
    assert [s for s, _ in recorder.steps] == [0, 1, 2, 3]
    for key in ("score", "best_score", "status", "duration", "wall_time", "params"):
        assert key in recorder.steps[0][1]
    assert len(result.trials) == 4 and result.stopped_by == "callback"
    assert recorder.end["stopped_by"] == "callback" and recorder.end["num_trials"] == 4
    with pytest.raises(ValueError, match="Callback instances"):
        search.random_search(flaky, SPACE, n_trials=2, callbacks=[print])


# --- early stopping (pruning) ---------------------------------------------------------------------
def learning_curve(params, trial):
    """A trial whose final score is x; intermediate values rise towards it over 9 steps."""
    for step in range(1, 10):
        trial.report(step, params["x"] * step / 9)
        if trial.should_prune():
            raise TrialPruned()
    return params["x"]


def test_successive_halving_in_random_search():
    result = search.random_search(learning_curve, SPACE, n_trials=40, seed=0, pruner="successive_halving")
    trials = result.trials
    pruned = trials[trials["status"] == "pruned"]
    assert len(pruned) >= 10
    assert pruned["intermediate"].map(len).max() < 9  # stopped before the end
    ok = trials[trials["status"] == "ok"]
    assert result.best_score == pytest.approx(ok["score"].max())
    assert pruned["x"].median() < ok["x"].median()  # the weak ones were cut
    assert SuccessiveHalvingPruner(min_step=1, reduction_factor=3).is_rung(9)
    assert not SuccessiveHalvingPruner(min_step=1, reduction_factor=3).is_rung(4)


def test_optuna_pruner_in_bayesian_search():
    result = search.bayesian_search(learning_curve, SPACE, n_trials=30, seed=0, pruner="median")
    trials = result.trials
    assert (trials["status"] == "pruned").sum() >= 5
    assert result.best_score == pytest.approx(trials.loc[trials["status"] == "ok", "score"].max())
    unpruned = search.bayesian_search(learning_curve, SPACE, n_trials=10, seed=0, pruner=None)
    assert (unpruned.trials["status"] == "ok").all()


# --- resume ---------------------------------------------------------------------------------------
def test_bayesian_search_resumes_from_sqlite(tmp_path):
    space, objective = sphere_problem(2)
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    first = search.bayesian_search(interrupting_at(6, objective), space, n_trials=15, seed=0, storage=storage,
                                   study_name="sphere")
    assert first.interrupted and len(first.trials) == 6
    resumed = search.bayesian_search(objective, space, n_trials=15, seed=0, storage=storage, study_name="sphere")
    assert len(resumed.trials) == 15 and not resumed.interrupted
    assert resumed.trials.loc[:5, ["x0", "x1"]].to_numpy() == pytest.approx(first.trials[["x0", "x1"]].to_numpy())
    assert resumed.trials["number"].tolist() == list(range(15))
    assert resumed.best_score >= first.best_score
    assert resumed.info["study_name"] == "sphere"


@pytest.mark.parametrize("method", [search.genetic_search, search.pso_search, search.de_search,
                                    search.cmaes_search], ids=lambda m: m.__name__)
def test_evolutionary_search_resumes_from_a_checkpoint_exactly(tmp_path, method):
    space, objective = sphere_problem(3)
    kwargs = {"n_trials": 60, "seed": 4, "population_size": 8}
    path = tmp_path / "search.pkl"
    interrupted = method(interrupting_at(37, objective), space, checkpoint=path, **kwargs)
    assert interrupted.interrupted and path.is_file()
    resumed = method(objective, space, checkpoint=path, resume=True, **kwargs)
    uninterrupted = method(objective, space, **kwargs)
    names = list(space)
    assert len(resumed.trials) == 60
    assert resumed.trials[names].to_numpy() == pytest.approx(uninterrupted.trials[names].to_numpy())
    assert resumed.best_score == pytest.approx(uninterrupted.best_score)
    other = search.genetic_search if method is not search.genetic_search else search.pso_search
    with pytest.raises(ValueError, match="belongs to another search"):
        other(objective, space, checkpoint=path, resume=True, **kwargs)


# --- several objectives ---------------------------------------------------------------------------
def test_nsga2_finds_a_pareto_front_and_its_hypervolume(tmp_path):
    space = {"x": Real(0.0, 1.0), "y": Real(0.0, 1.0)}

    def zdt_like(params):  # two conflicting objectives; the true front is f2 = 1 - sqrt(f1) with y = 0
        f1 = params["x"]
        g = 1 + 9 * params["y"]
        return {"f1": f1, "f2": g * (1 - np.sqrt(f1 / g))}

    directions = {"f1": "minimize", "f2": "minimize"}
    result = search.nsga2_search(zdt_like, space, n_trials=400, population_size=20, seed=0, directions=directions,
                                 reference_point=[1.1, 1.1])
    front = result.pareto_front
    assert len(front) >= 10
    assert (front["f2"] - (1 - np.sqrt(front["f1"]))).max() < 0.15  # near the true front
    true_volume = 1.1 * 1.1 - 1.0 / 3.0  # the box up to (1.1, 1.1) minus the area under f2 = 1 - sqrt(f1)
    assert result.hypervolume == pytest.approx(true_volume, abs=0.08)
    random_front = search.nsga2_search(zdt_like, space, n_trials=20, population_size=20, seed=0,
                                       directions=directions, reference_point=[1.1, 1.1])
    assert result.hypervolume > random_front.hypervolume
    assert result.best_score == pytest.approx(-front["f1"].min())  # score = first objective, made "higher is better"
    loaded = search.SearchResult.load(result.save(tmp_path / "nsga2.json"))
    assert loaded.hypervolume == pytest.approx(result.hypervolume) and len(loaded.pareto_front) == len(front)
    with pytest.raises(ValueError, match="multiple of 4"):
        search.nsga2_search(zdt_like, space, n_trials=10, population_size=10, directions=directions)
    with pytest.raises(ValueError, match="'maximize' or 'minimize'"):
        search.nsga2_search(zdt_like, space, n_trials=10, directions={"f1": "up", "f2": "minimize"})


def test_nsga2_front_lists_each_model_once_and_agrees_with_evolab_pareto():
    from evolab import pareto

    space = {"units": Integer(1, 6)}  # six models only: a 40-trial search runs out of new ones

    def accuracy_and_size(params):
        return {"accuracy": 1 - 1 / (1 + params["units"]), "size": 10 * params["units"]}

    result = search.nsga2_search(accuracy_and_size, space, n_trials=40, population_size=8, seed=0,
                                 directions={"accuracy": "maximize", "size": "minimize"})
    assert not result.trials["units"].duplicated().any() and len(result.trials) <= 6  # each model trained once
    front = result.pareto_front
    assert sorted(front["units"]) == sorted(set(result.trials["units"]))  # every distinct model, once
    ok = result.trials[result.trials["status"] == "ok"]
    expected = pareto.hypervolume(ok[["accuracy", "size"]].to_numpy(), result.info["reference_point"],
                                  maximize=(True, False))
    assert result.hypervolume == pytest.approx(expected)


def test_genetic_search_never_evaluates_a_genome_twice():
    space = {"a": Integer(0, 3), "b": Integer(0, 3)}  # 16 points; binary encoding: 4 bits, 16 genomes
    result = search.genetic_search(lambda p: p["a"] + p["b"], space, n_trials=200, population_size=6,
                                   encoding="binary", seed=0)
    pairs = list(zip(result.trials["a"], result.trials["b"]))
    assert len(pairs) == len(set(pairs)) <= 16  # each genome once, then the search ends: nothing new is left
    assert result.best_score == 6 and result.stopped_by == "exhausted"


def test_compare_tabulates_medians_of_best_so_far_and_plots_them():
    space = {"x": Real(-1.0, 1.0)}

    def objective(params):
        return -abs(params["x"])

    runs = {"random": [search.random_search(objective, space, n_trials=20, seed=s) for s in range(3)],
            "grid": search.grid_search(objective, {"x": Real(-1.0, 1.0, num=5)})}
    table = search.compare(runs, at=(1, 5, 20), figsize=(7, 3))
    best_so_far = [r.trials["score"].cummax().to_numpy() for r in runs["random"]]
    assert table.loc["random", "best@5"] == pytest.approx(np.median([b[4] for b in best_so_far]))
    assert table.loc["random", "best@20"] == pytest.approx(np.median([b[19] for b in best_so_far]))
    assert table.loc["grid", "best"] == 0.0 and table.index[0] == "grid"  # the grid holds x = 0 exactly; sorted by best
    assert np.isnan(table.loc["grid", "best@20"])  # 5 grid points: no reading after 20 evaluations
    assert table.loc["random", "runs"] == 3 and table.loc["grid", "evaluations"] == 5
    assert tuple(table.attrs["figure"].get_size_inches()) == (7, 3)
    assert "figure" not in search.compare(runs, plot=False).attrs
    with pytest.raises(ValueError, match="non-empty dict"):
        search.compare([])
    with pytest.raises(ValueError, match=r"results\['bad'\] must be a SearchResult"):
        search.compare({"bad": [1, 2]})


SEEDED_SEARCHES = {
    "grid": lambda objective, space: search.grid_search(objective, space, seed=0),
    **{m.__name__: (lambda m: lambda objective, space: m(objective, space, n_trials=12, seed=0))(m)
       for m in ALL_METHODS},
    "bayesian_hyperopt": lambda objective, space: search.bayesian_search(objective, space, n_trials=8, seed=0,
                                                                       engine="hyperopt"),
    "nsga2": lambda objective, space: search.nsga2_search(lambda p: (objective(p), p["x0"]), space, n_trials=8,
                                                          population_size=4, seed=0),
    "architecture": lambda objective, space: search.architecture_search(lambda p: float(len(p["layers"])),
                                                                        n_trials=8, population_size=4, seed=0),
}


@pytest.mark.parametrize("name", sorted(SEEDED_SEARCHES))
def test_a_seeded_search_leaves_the_callers_random_state_alone(name):
    # Issue 15: cmaes_search(seed=...) reseeded NumPy's global generator under the caller's feet.
    import random

    space = {"x0": Real(-5.0, 5.0, num=3), "x1": Real(-5.0, 5.0, num=3)}
    random.seed(123)
    np.random.seed(456)
    before = random.getstate(), np.random.get_state()
    SEEDED_SEARCHES[name](lambda p: -(p["x0"] ** 2 + p["x1"] ** 2), space)
    after = random.getstate(), np.random.get_state()
    assert after[0] == before[0], "Python's random state changed"
    assert after[1][0] == before[1][0] and np.array_equal(after[1][1], before[1][1]) and after[1][2:] == before[1][2:]


def test_early_stopping_on_a_key_the_logs_lack_warns_once_naming_the_keys():
    # Issue 15, item 5: EarlyStopping(monitor="val_accuracy") on a search (which logs "score") never stopped, silently.
    import warnings

    space, objective = sphere_problem(2)
    with pytest.warns(UserWarning, match=r"monitor='val_accuracy'.*no such key.*'best_score'.*'score'") as caught:
        search.random_search(objective, space, n_trials=6, seed=0, callbacks=[cb.EarlyStopping(patience=1)])
    assert len([w for w in caught if "EarlyStopping" in str(w.message)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = search.random_search(objective, space, n_trials=30, seed=0,
                                      callbacks=[cb.EarlyStopping(monitor="best_score", patience=2)])
    assert len(result.trials) < 30  # the right key stops the search
