"""Parallel backends: serial, spawned processes, Dask (with a worker killed mid-search)."""

import concurrent.futures
import os
import subprocess
import sys

import pytest
from deap import base, creator, tools

from evolab import parallel, search
from evolab.search import Real

SPACE = {"x": Real(-1.0, 1.0), "y": Real(-1.0, 1.0)}


def test_serial_map_is_a_deap_map():
    toolbox = base.Toolbox()
    toolbox.register("map", parallel.SerialMap())
    assert toolbox.map(lambda a, b: a + b, [1, 2], [10, 20]) == [11, 22]
    assert parallel.SerialMap().map(lambda v: 1 / v, [1, 0], return_exceptions=True)[1].__class__ is ZeroDivisionError


def test_resolve_map_checks_its_arguments():
    backend, owned = parallel.resolve_map()
    assert isinstance(backend, parallel.SerialMap) and owned
    with pytest.raises(ValueError, match="not both"):
        parallel.resolve_map(map=parallel.SerialMap(), n_workers=2)
    with pytest.raises(ValueError, match="positive int; received 0"):
        parallel.resolve_map(n_workers=0)


@pytest.fixture(scope="module")
def process_map():
    with parallel.ProcessMap(2) as backend:
        yield backend


def test_process_map_runs_lambdas_and_deap_creator_classes(process_map):
    # DEAP issue 92: creator classes made here do not exist in a fresh (spawned) worker.
    creator.create("FitnessParallelTest", base.Fitness, weights=(1.0,))
    creator.create("IndividualParallelTest", list, fitness=creator.FitnessParallelTest)
    toolbox = base.Toolbox()
    toolbox.register("individual", tools.initRepeat, creator.IndividualParallelTest, lambda: 1.5, 3)
    toolbox.register("map", process_map)
    population = [toolbox.individual() for _ in range(4)]
    offset = 10  # a closure over a local variable, as in a notebook cell
    assert toolbox.map(lambda ind: (sum(ind) + offset,), population) == [(14.5,)] * 4
    echoed = toolbox.map(lambda ind: ind, population)
    assert type(echoed[0]).__name__ == "IndividualParallelTest" and echoed[0] == [1.5, 1.5, 1.5]
    assert echoed[0].fitness.weights == (1.0,)
    pids = process_map(lambda _: os.getpid(), range(8))
    assert os.getpid() not in pids


def test_process_map_recycles_workers_after_max_tasks_per_child():
    with parallel.ProcessMap(1, max_tasks_per_child=2) as backend:
        pids = [backend(lambda _: os.getpid(), range(2)) for _ in range(3)]
    assert all(len(set(batch)) == 1 for batch in pids)
    assert len({batch[0] for batch in pids}) == 3  # a fresh worker for each call of two items
    with pytest.raises(ValueError, match="max_tasks_per_child must be a positive int or None; received 0"):
        parallel.ProcessMap(1, max_tasks_per_child=0)


def test_search_on_processes_gives_the_serial_trials(process_map):
    objective = lambda params: -(params["x"] ** 2 + params["y"] ** 2)  # noqa: E731 - a lambda on purpose
    serial = search.random_search(objective, SPACE, n_trials=12, seed=5)
    parallel_result = search.random_search(objective, SPACE, n_trials=12, seed=5, map=process_map)
    assert parallel_result.trials[["x", "y", "score"]].equals(serial.trials[["x", "y", "score"]])
    assert parallel_result.trials["worker"].str.startswith("pid-").all()
    assert set(serial.trials["worker"]) == {"main"}
    bayesian = search.bayesian_search(objective, SPACE, n_trials=12, seed=0, map=process_map)
    assert len(bayesian.trials) == 12 and (bayesian.trials["status"] == "ok").all()
    assert bayesian.trials["worker"].nunique() >= 1 and bayesian.trials["worker"].str.startswith("pid-").all()
    genetic = search.genetic_search(objective, SPACE, n_trials=20, population_size=8, seed=1, map=process_map)
    assert genetic.trials[["x", "y"]].equals(
        search.genetic_search(objective, SPACE, n_trials=20, population_size=8, seed=1).trials[["x", "y"]])


def _kill_once(marker):
    def objective(params):
        import time

        time.sleep(0.15)
        if params["x"] > 0.0 and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), 9)  # this Dask worker dies mid-trial
        return params["x"]

    return objective


def _draws_random_numbers(params):
    """An objective that uses the global random streams, as Keras training does."""
    import random

    import numpy as np

    random.seed(123)
    np.random.seed(123)
    return -(params["x"] ** 2 + params["y"] ** 2) + 0.0 * random.random() * np.random.rand()


def test_dask_search_survives_a_killed_worker(tmp_path):
    pytest.importorskip("dask.distributed")
    marker = str(tmp_path / "killed")
    with parallel.DaskMap(n_workers=2) as backend:
        assert backend.n_workers == 2
        assert backend(lambda v: v * 2, [1, 2, 3]) == [2, 4, 6]
        result = search.random_search(_kill_once(marker), SPACE, n_trials=12, seed=0, map=backend)
    assert os.path.exists(marker), "no worker was killed: the test did not test anything"
    trials = result.trials
    assert trials["number"].tolist() == list(range(12))
    assert trials["status"].isin(["ok", "failed"]).all()
    failed = trials[trials["status"] == "failed"]
    assert failed["error"].str.contains("KilledWorker").all()  # only a task that kept killing workers may fail
    assert (trials["status"] == "ok").sum() >= 11
    assert trials["worker"].str.startswith("tcp://").sum() >= 11


def test_genetic_search_on_dask_makes_the_serial_trials():
    """The GA's random streams are its own: neither Dask's client nor an objective that seeds can shift them."""
    pytest.importorskip("dask.distributed")
    kwargs = {"n_trials": 40, "population_size": 8, "seed": 3}
    with parallel.DaskMap(n_workers=2) as backend:
        on_dask = search.genetic_search(_draws_random_numbers, SPACE, map=backend, **kwargs)
    serial = search.genetic_search(_draws_random_numbers, SPACE, **kwargs)
    assert on_dask.trials[["x", "y"]].to_numpy() == pytest.approx(serial.trials[["x", "y"]].to_numpy())
    assert on_dask.best_score == pytest.approx(serial.best_score)


def test_process_map_in_a_script_without_the_main_guard_says_so(tmp_path):
    # Review H7: without the guard, spawned workers re-ran the script and every trial failed with BrokenProcessPool.
    body = ("from evolab import parallel\n"
            "def run():\n"
            "    with parallel.ProcessMap(1) as pmap:\n"
            "        print(pmap(abs, [-3, 4]))\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(parallel.__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    unguarded, guarded = tmp_path / "unguarded.py", tmp_path / "guarded.py"
    unguarded.write_text(body + "run()\n")
    guarded.write_text(body + "if __name__ == '__main__':\n    run()\n")
    failed = subprocess.run([sys.executable, str(unguarded)], capture_output=True, text=True, env=env, timeout=120)
    assert failed.returncode != 0
    assert "line 5 of unguarded.py" in failed.stderr and 'if __name__ == "__main__":' in failed.stderr
    assert "BrokenProcessPool" not in failed.stderr.replace("fail with BrokenProcessPool", "")
    done = subprocess.run([sys.executable, str(guarded)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[3, 4]"


def test_an_item_that_kills_its_worker_fails_alone(process_map):
    # Review H3: a worker killed by one item broke the pool, and healthy items of the same call failed with it.
    def square_or_die(x):
        if x > 0.5:
            os._exit(1)
        return x * x

    outcomes = process_map.map(square_or_die, [0.1, 0.9, 0.2, 0.3, 0.7, 0.4], return_exceptions=True)
    assert [o for o in outcomes if not isinstance(o, Exception)] == pytest.approx([0.01, 0.04, 0.09, 0.16])
    for killer in (outcomes[1], outcomes[4]):
        assert isinstance(killer, concurrent.futures.process.BrokenProcessPool)
        assert "died again when the item ran alone" in str(killer)
    assert process_map(abs, [-1, -2]) == [1, 2]  # the map goes on with fresh workers


def test_dask_map_with_no_workers_stops_waiting_and_says_why():
    # Review defect 12: a scheduler without workers made every call hang.
    import time

    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        backend = parallel.DaskMap(client=client, worker_timeout=2)
        start = time.monotonic()
        with pytest.raises(TimeoutError, match=r"no worker for 2 s.*dask worker tcp://127\.0\.0\.1:\d+"):
            backend(abs, [-1])
        assert time.monotonic() - start < 30
    with pytest.raises(ValueError, match="worker_timeout must be a positive number of seconds or None; received 0"):
        parallel.DaskMap(client=object(), worker_timeout=0)


def _sleeps_when_x_is_large(params):
    import time

    if params["x"] > 0.5:
        time.sleep(120)  # a trial that hangs
    return -params["x"] ** 2


def test_a_trial_past_the_process_maps_time_limit_fails_and_the_search_goes_on():
    # Review defect 12: one hanging trial on a process map hung the whole search.
    import time

    start = time.monotonic()
    with parallel.ProcessMap(2, timeout=3) as backend:
        assert repr(backend) == "ProcessMap(n_workers=2, timeout=3)"
        result = search.random_search(_sleeps_when_x_is_large, SPACE, n_trials=8, seed=1, map=backend)
    assert time.monotonic() - start < 100
    trials = result.trials
    hung = trials["x"] > 0.5
    assert 0 < hung.sum() < len(trials), "the seed must give both kinds of trial, or the test tests nothing"
    assert (trials.loc[hung, "status"] == "failed").all() and (trials.loc[~hung, "status"] == "ok").all()
    assert trials.loc[hung, "error"].str.fullmatch(
        r"TimeLimitExceeded: the item ran past its time limit of 3 s \(the map's timeout=\) and was stopped").all()
    assert (trials.loc[hung, "duration"] > 2.5).all() and (trials.loc[hung, "duration"] < 20).all()
    assert result.best_score == pytest.approx(-(trials.loc[~hung, "x"] ** 2).min())


def test_an_item_that_ignores_its_time_limit_has_its_worker_ended():
    import signal
    import time

    def ignore_the_alarm_and_hang(x):
        if x < 0:
            signal.signal(signal.SIGALRM, signal.SIG_IGN)  # as native code that never returns to Python would
            time.sleep(120)
        return x + 1

    with parallel.ProcessMap(2, timeout=1) as backend:
        backend._grace = 0.5
        start = time.monotonic()
        outcomes = backend.map(ignore_the_alarm_and_hang, [1, -1, 2], return_exceptions=True)
        assert time.monotonic() - start < 60
        assert outcomes[0] == 2 and outcomes[2] == 3
        assert isinstance(outcomes[1], parallel.TimeLimitExceeded)
        assert "did not stop within 0.5 s more (stuck in native code?), so its worker process was ended" \
            in str(outcomes[1])
        assert backend(abs, [-4]) == [4]  # fresh workers carry on


def test_a_dask_item_past_its_time_limit_is_stopped_or_given_up_on():
    import time

    def spin_sleep_or_return(kind):
        if kind == "spin":
            while True:  # Python code: stopped by the exception raised in its thread
                pass
        if kind == "sleep":
            time.sleep(20)  # inside one C call: cannot be stopped in a Dask worker, so it is given up on
        return kind

    with parallel.DaskMap(n_workers=1, timeout=1) as backend:
        backend._grace = 0.5
        start = time.monotonic()
        outcomes = backend.map(spin_sleep_or_return, ["spin", "sleep", "ok"], return_exceptions=True)
        assert time.monotonic() - start < 15
    assert outcomes[2] == "ok"
    assert isinstance(outcomes[0], parallel.TimeLimitExceeded)
    assert str(outcomes[0]) == "the item ran past its time limit of 1 s (the map's timeout=) and was stopped"
    assert isinstance(outcomes[1], parallel.TimeLimitExceeded)
    assert "did not stop within 0.5 s more (stuck in native code?); it is left running in its worker" \
        in str(outcomes[1])


@pytest.mark.parametrize("bad", [0, -1, True, "10", float("inf"), float("nan")])
def test_a_time_limit_must_be_a_positive_number_of_seconds(bad):
    with pytest.raises(ValueError, match=r"timeout must be a positive number of seconds per item, or None"):
        parallel.ProcessMap(1, timeout=bad)
