"""The reliability review's search probes O1..O43, one test each (../shared/reviews/reliability.md, "Probe table").

They cover the hyperparameter searches of :mod:`evolab.search`: objectives that fail or return bad values, bad
arguments of every method, saving and loading a :class:`SearchResult`, where trials run, and Optuna storage.
Every search here is tiny (a few trials, populations of 4) with an objective that costs nothing.

``OUTCOMES`` maps each probe id to (the review's class, the class today): CLEAR is a clear error, OK a valid edge
case handled correctly.
"""

import json
import math
import re
import time

import numpy as np
import pytest

from evolab import search as es
from evolab.search import SearchFailedError

OUTCOMES = {
    "O1": ("CLEAR", "CLEAR"), "O2": ("OK", "OK"), "O3": ("CLEAR", "CLEAR"), "O4": ("CLEAR", "CLEAR"),
    "O5": ("CLEAR", "CLEAR"), "O6": ("OK", "OK"), "O7": ("CLEAR", "CLEAR"), "O8": ("CLEAR", "CLEAR"),
    "O9": ("CLEAR", "CLEAR"), "O10": ("OK", "OK"), "O11": ("OK", "OK"), "O12": ("CLEAR", "CLEAR"),
    "O13": ("CLEAR", "CLEAR"), "O14": ("CLEAR", "CLEAR"), "O15": ("CLEAR", "CLEAR"), "O16": ("CLEAR", "CLEAR"),
    "O17": ("CLEAR", "CLEAR"), "O18": ("CLEAR", "CLEAR"), "O19": ("CLEAR", "CLEAR"), "O20": ("CLEAR", "CLEAR"),
    "O21": ("OK", "OK"), "O22": ("CLEAR", "CLEAR"), "O23": ("CLEAR", "CLEAR"), "O24": ("CLEAR", "CLEAR"),
    "O25": ("CLEAR", "CLEAR"), "O26": ("CLEAR", "CLEAR"), "O27": ("CLEAR", "CLEAR"), "O28": ("CLEAR", "CLEAR"),
    "O29": ("CLEAR", "CLEAR"), "O30": ("CLEAR", "CLEAR"), "O31": ("CLEAR", "CLEAR"), "O32": ("CLEAR", "CLEAR"),
    "O33": ("CLEAR", "CLEAR"), "O34": ("UNCLEAR", "CLEAR"), "O35": ("CLEAR", "CLEAR"), "O36": ("CLEAR", "CLEAR"),
    "O37": ("OK", "OK"), "O38": ("OK", "OK"), "O39": ("OK", "OK"), "O40": ("CLEAR", "CLEAR"),
    "O41": ("CLEAR", "CLEAR"), "O42": ("CLEAR", "CLEAR"), "O43": ("SILENT", "CLEAR"),
}

SPACE = {"x": es.Real(-1, 1), "k": es.Integer(1, 5)}


def parabola(params):
    """A cheap objective with its best at x = 0."""
    return -params["x"] ** 2


def boom(params):
    raise RuntimeError("boom")


def every_trial_fails(objective, message, method=es.random_search, n_trials=3, **options):
    """Runs a search whose trials all fail; checks the error names the count, the method and the first error."""
    with pytest.raises(SearchFailedError, match=message) as caught:
        method(objective, SPACE, n_trials=n_trials, seed=0, **options)
    table = caught.value.result.trials
    assert len(table) == n_trials and set(table["status"]) == {"failed"}
    return caught.value


# -- objectives that fail or return bad values (O1-O11, O21, O27, O33, O36-O39) -------------------------------------

def test_O1_an_objective_that_always_raises_fails_the_search_with_its_error():
    error = every_trial_fails(boom, "all 3 trials of random failed; the first errors were: RuntimeError: boom")
    assert list(error.result.trials["error"]) == ["RuntimeError: boom"] * 3


def test_O2_an_objective_that_raises_sometimes_keeps_the_other_trials():
    def objective(params):
        if params["k"] == 3:
            raise ValueError("k=3 not allowed")
        return parabola(params)

    result = es.random_search(objective, SPACE, n_trials=10, seed=0)
    table = result.trials
    failed = table["status"] == "failed"
    assert failed.any() and not failed.all()
    assert list(failed) == list(table["k"] == 3)  # exactly the k=3 trials failed, with their message
    assert set(table.loc[failed, "error"]) == {"ValueError: k=3 not allowed"}
    assert result.best_score == pytest.approx(table.loc[~failed, "score"].max())
    assert result.best_params["k"] != 3


def test_O3_an_objective_that_always_returns_nan_fails_the_search():
    every_trial_fails(lambda p: float("nan"), "all 3 trials of random failed; the first errors were: "
                                              "the objective returned NaN")


def test_O4_an_objective_that_returns_none_fails_the_search_with_a_type_message():
    every_trial_fails(lambda p: None, "TypeError: the objective must return a number; received NoneType: None")


def test_O5_an_objective_that_returns_a_string_fails_the_search_with_a_type_message():
    every_trial_fails(lambda p: "0.5", "TypeError: the objective must return a number; received str: '0.5'")


def test_O6_an_objective_returning_plus_infinity_is_the_best_score_and_survives_save_and_load(tmp_path):
    def objective(params):
        return float("inf") if params["x"] > 0 else params["x"]

    result = es.random_search(objective, SPACE, n_trials=6, seed=0)
    assert set(result.trials["status"]) == {"ok"}
    assert result.best_score == math.inf and result.best_params["x"] > 0
    for suffix in (".json", ".csv"):  # an infinite score was once written as null and lost its trial
        loaded = es.SearchResult.load(result.save(tmp_path / f"r{suffix}"))
        assert loaded.best_score == math.inf
        assert loaded.best_params["x"] == pytest.approx(result.best_params["x"])


def test_O7_an_objective_that_returns_an_array_of_two_fails_the_search():
    every_trial_fails(lambda p: np.array([1.0, 2.0]), r"must return a number; received ndarray: array\(\[1., 2.\]\)")
    # a one-element array is one number, and is accepted
    assert es.random_search(lambda p: np.array([0.25]), SPACE, n_trials=2, seed=0).best_score == 0.25


def test_O8_an_objective_that_returns_a_bool_fails_the_search():
    every_trial_fails(lambda p: True, "must return a number; received bool: True")


def test_O9_an_objective_that_returns_a_one_element_tuple_fails_the_search():
    every_trial_fails(lambda p: (0.5,), r"must return a number; received tuple: \(0.5,\)")


def test_O10_timeout_stops_new_trials_but_does_not_interrupt_a_running_one():
    # documented: no new trial starts after the timeout; there is no per-trial timeout
    def slow(params):
        time.sleep(0.5)
        return parabola(params)

    result = es.random_search(slow, SPACE, n_trials=5, timeout=0.2, seed=0)
    assert result.num_trials == 1 and result.stopped_by == "timeout"
    assert result.trials["status"].tolist() == ["ok"] and result.trials["duration"].iloc[0] >= 0.5


@pytest.mark.parametrize("method", [es.random_search, es.genetic_search])
def test_O11_a_keyboard_interrupt_in_the_objective_returns_the_finished_trials(method):
    calls = []

    def objective(params):
        calls.append(params)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return parabola(params)

    options = {"population_size": 4} if method is es.genetic_search else {}
    result = method(objective, SPACE, n_trials=8, seed=0, **options)
    assert result.interrupted and result.stopped_by == "interrupt"
    assert result.trials["status"].tolist() == ["ok", "ok"]
    assert result.trials["x"].tolist() == [calls[0]["x"], calls[1]["x"]]


def test_O21_a_bayesian_objective_returning_plus_infinity_is_accepted():
    result = es.bayesian_search(lambda p: float("inf"), SPACE, n_trials=3, seed=0)
    assert result.best_score == math.inf and result.trials["status"].tolist() == ["ok"] * 3


def test_O27_an_nsga2_objective_returning_one_float_fails_and_says_two_values_were_expected():
    every_trial_fails(lambda p: 1.0, r"all 4 trials of nsga2 failed; .*TypeError: the objective must return 2 values "
                                     r"\['objective_0', 'objective_1'\] \(a tuple or a dict\); received 1.0",
                      method=es.nsga2_search, n_trials=4, population_size=4)


def test_O33_grid_search_over_a_real_only_space_with_a_raising_objective_fails_every_grid_point():
    with pytest.raises(SearchFailedError, match="all 5 trials of grid failed; the first errors were: "
                                                "RuntimeError: boom") as caught:
        es.grid_search(boom, {"x": es.Real(0, 1)})  # a Real gives 5 grid points by default
    assert caught.value.result.trials["x"].tolist() == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])


def test_O36_de_search_with_an_objective_that_always_returns_nan_fails():
    every_trial_fails(lambda p: float("nan"), "all 8 trials of de failed; the first errors were: "
                                              "the objective returned NaN",
                      method=es.de_search, n_trials=8, population_size=4)


def test_O37_cmaes_with_an_objective_that_always_returns_minus_infinity_runs_to_the_end(tmp_path):
    result = es.cmaes_search(lambda p: -math.inf, SPACE, n_trials=8, population_size=4, seed=0)
    assert result.num_trials == 8 and set(result.trials["status"]) == {"ok"}
    assert result.best_score == -math.inf
    assert es.SearchResult.load(result.save(tmp_path / "r.json")).best_score == -math.inf


def test_O38_pso_with_an_objective_that_returns_none_sometimes_keeps_the_good_trials():
    calls = []

    def objective(params):
        calls.append(1)
        return None if len(calls) % 2 else params["x"]

    result = es.pso_search(objective, SPACE, n_trials=12, population_size=4, seed=0)
    table = result.trials
    assert table["status"].tolist() == ["failed", "ok"] * 6
    assert set(table.loc[table["status"] == "failed", "error"]) == {
        "TypeError: the objective must return a number; received NoneType: None"}
    assert result.best_score == table.loc[table["status"] == "ok", "x"].max()


def test_O39_an_objective_with_a_keyword_only_second_argument_gets_only_the_params():
    received = []

    def objective(params, *, scale=2.0):
        received.append(params)
        return -scale * params["x"] ** 2

    result = es.random_search(objective, SPACE, n_trials=3, seed=0)
    assert set(result.trials["status"]) == {"ok"} and len(received) == 3
    assert result.best_score == pytest.approx(max(-2.0 * p["x"] ** 2 for p in received))


# -- the budget and the method's arguments (O12-O20, O22-O32) --------------------------------------------------------

def test_O12_an_objective_that_is_not_callable_is_refused():
    with pytest.raises(ValueError, match=r"objective must be callable as objective\(params\) -> float; received 42"):
        es.random_search(42, SPACE, n_trials=3)


def test_O13_n_trials_zero_is_refused():
    with pytest.raises(ValueError, match="n_trials must be a positive int; received 0"):
        es.random_search(parabola, SPACE, n_trials=0)


def test_O14_negative_n_trials_is_refused():
    with pytest.raises(ValueError, match="n_trials must be a positive int; received -1"):
        es.random_search(parabola, SPACE, n_trials=-1)


def test_O15_fractional_n_trials_is_refused():
    with pytest.raises(ValueError, match=r"n_trials must be a positive int; received 2.5"):
        es.random_search(parabola, SPACE, n_trials=2.5)
    assert es.random_search(parabola, SPACE, n_trials=np.int64(2), seed=0).num_trials == 2  # a NumPy int is an int


def test_O16_a_search_without_any_budget_is_refused():
    with pytest.raises(ValueError, match=r"give a budget: n_trials= \(evaluations\) and/or timeout= \(seconds\); "
                                         "received neither"):
        es.random_search(parabola, SPACE)


@pytest.mark.parametrize("timeout", [0, -1, True, float("nan"), float("inf")])
def test_O17_a_timeout_that_is_not_a_positive_finite_number_is_refused(timeout):
    # True once ran as a 1-second search, and NaN as a search that never stopped
    with pytest.raises(ValueError, match=f"timeout must be a positive number of seconds; received {timeout!r}"):
        es.random_search(parabola, SPACE, n_trials=2, timeout=timeout)


def test_O18_an_unknown_pruner_is_refused():
    with pytest.raises(ValueError, match="pruner must be None, 'successive_halving' or a SuccessiveHalvingPruner; "
                                         "received 'bogus'"):
        es.random_search(parabola, SPACE, n_trials=2, pruner="bogus")


def test_O19_an_unknown_bayesian_sampler_is_refused():
    with pytest.raises(ValueError, match="sampler must be 'tpe', 'gp', 'random' or an optuna sampler; "
                                         "received 'bogus'"):
        es.bayesian_search(parabola, SPACE, n_trials=2, sampler="bogus")


def test_O20_an_unknown_bayesian_engine_is_refused():
    with pytest.raises(ValueError, match="engine must be 'optuna' or 'hyperopt'; received 'skopt'"):
        es.bayesian_search(parabola, SPACE, n_trials=2, engine="skopt")


def test_O22_a_genetic_population_of_one_is_refused():
    with pytest.raises(ValueError, match="population_size must be an int >= 2; received 1"):
        es.genetic_search(parabola, SPACE, n_trials=2, population_size=1)


def test_O23_an_unknown_genetic_encoding_is_refused():
    with pytest.raises(ValueError, match="encoding must be 'real' or 'binary'; received 'gray'"):
        es.genetic_search(parabola, SPACE, n_trials=2, encoding="gray")


@pytest.mark.parametrize("rate", [1.5, -0.1, float("nan")])
def test_O24_a_genetic_crossover_rate_outside_zero_one_is_refused(rate):
    with pytest.raises(ValueError, match=rf"crossover_rate must be a number in \[0, 1\]; received {rate!r}"):
        es.genetic_search(parabola, SPACE, n_trials=2, crossover_rate=rate)


def test_O25_an_nsga2_population_that_is_not_a_multiple_of_four_is_refused():
    with pytest.raises(ValueError, match=r"population_size must be a multiple of 4 \(NSGA-II's crowded tournament\); "
                                         "received 6"):
        es.nsga2_search(lambda p: (1.0, 2.0), SPACE, n_trials=2, population_size=6)


def test_O26_abbreviated_nsga2_directions_are_refused():
    with pytest.raises(ValueError, match="each direction must be 'maximize' or 'minimize'; received 'max'"):
        es.nsga2_search(lambda p: (1.0, 2.0), SPACE, n_trials=2, directions=("max", "min"))


def test_O28_a_de_population_below_four_is_refused():
    with pytest.raises(ValueError, match="population_size must be an int >= 4; received 3"):
        es.de_search(parabola, SPACE, n_trials=2, population_size=3)


@pytest.mark.parametrize("sigma", [0, -0.3, True, float("nan"), float("inf")])
def test_O29_a_cmaes_sigma_that_is_not_a_positive_finite_number_is_refused(sigma):
    # NaN used to reach DEAP and fail there with "cannot convert float NaN to integer"
    with pytest.raises(ValueError, match=f"sigma must be a positive finite number; received {sigma!r}"):
        es.cmaes_search(parabola, SPACE, n_trials=2, sigma=sigma)


def test_O30_architecture_min_layers_above_max_layers_is_refused_naming_both():
    with pytest.raises(ValueError, match=r"max_layers must be >= min_layers \(3\); received max_layers=2"):
        es.architecture_search(lambda p: 1.0, n_trials=2, min_layers=3, max_layers=2)
    with pytest.raises(ValueError, match=r"max_units must be >= min_units \(64\); received max_units=32"):
        es.architecture_search(lambda p: 1.0, n_trials=2, min_units=64, max_units=32)


def test_O31_architecture_without_activations_is_refused():
    with pytest.raises(ValueError, match=r"activations and dropouts must not be empty; received \(\), "
                                         r"\(0.0, 0.1, 0.2, 0.3\)"):
        es.architecture_search(lambda p: 1.0, n_trials=2, activations=())


def test_O32_compare_of_an_empty_dict_is_refused():
    with pytest.raises(ValueError, match=r"results must be a non-empty dict of name -> SearchResult \(or list\); "
                                         r"received \{\}"):
        es.compare({})


# -- saving and loading a result (O34, O35) --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def saved_json(tmp_path_factory):
    result = es.random_search(parabola, SPACE, n_trials=3, seed=0)
    return result, result.save(tmp_path_factory.mktemp("saved") / "r.json")


@pytest.mark.parametrize("damage", ["truncated", "empty", "binary", "a JSON list", "a JSON dict of other keys"])
def test_O34_loading_a_damaged_result_file_names_the_file(saved_json, tmp_path, damage):
    result, path = saved_json
    text = path.read_bytes()
    content, message = {
        "truncated": (text[: len(text) // 2], "is not a SearchResult JSON file"),
        "empty": (b"", "is not a SearchResult JSON file"),
        "binary": (b"\x80\x05\xff\xfe", "is not a SearchResult JSON file"),
        "a JSON list": (b"[1, 2]", r"is not a SearchResult written by .*lacks \['method', 'param_names', 'trials'\]"),
        "a JSON dict of other keys": (json.dumps({"method": "random"}).encode(),
                                      r"is not a SearchResult written by .*lacks \['param_names', 'trials'\]"),
    }[damage]
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(f"'{bad}' ") + message):  # was a bare JSONDecodeError, without the path
        es.SearchResult.load(bad)
    # the intact file still loads
    assert es.SearchResult.load(path).best_params == result.best_params


def test_O35_saving_a_result_to_a_txt_file_is_refused_and_writes_nothing(saved_json, tmp_path):
    result, _ = saved_json
    with pytest.raises(ValueError, match=r"path must end in .json or .csv; received '.*r.txt'"):
        result.save(tmp_path / "r.txt")
    assert not (tmp_path / "r.txt").exists()


# -- where trials run, and storage (O40-O43) -------------------------------------------------------------------------

def test_O40_a_map_that_is_not_callable_is_refused():
    with pytest.raises(ValueError, match="map must be callable like the built-in map; received 42"):
        es.random_search(parabola, SPACE, n_trials=2, map=42)


def test_O41_map_and_n_workers_together_are_refused():
    with pytest.raises(ValueError, match="give map= or n_workers=, not both; received map=<class 'map'>, n_workers=2"):
        es.random_search(parabola, SPACE, n_trials=2, map=map, n_workers=2)


def test_O42_hyperopt_with_storage_is_refused(tmp_path):
    storage = f"sqlite:///{tmp_path}/h.db"
    with pytest.raises(ValueError, match="engine='hyperopt' runs serially without storage; received map=None, "
                                         f"n_workers=None, storage='{storage}'"):
        es.bayesian_search(parabola, SPACE, n_trials=2, engine="hyperopt", storage=storage)


def test_O43_bayesian_storage_without_a_study_name_is_refused_before_creating_a_study(tmp_path):
    # it used to create a new 'no-name-<uuid>' study on every call, so nothing resumed, without a warning
    with pytest.raises(ValueError, match="storage= needs study_name=: without a name every call creates a new study"):
        es.bayesian_search(parabola, SPACE, n_trials=2, seed=0, storage=f"sqlite:///{tmp_path}/s.db")
    assert not (tmp_path / "s.db").exists()
