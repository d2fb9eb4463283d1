"""Probes H1-H7 of the reliability review (../shared/reviews/reliability.md, "Probe table"): hangs, crashes and
lost trials when objectives never return, workers die, or two processes share one file.

H5, H6 (second half) and H7 are tested where their fixes live: ``ELSEWHERE`` names those tests.
"""

import os
import threading
import time

import pytest

from evolab import checkpoint as checkpoints
from evolab import parallel, search
from evolab.search import Real

OUTCOMES = {
    "H1": ("HANG", "CLEAR"),
    "H2": ("HANG", "CLEAR"),
    "H3": ("SILENT", "OK"),
    "H4": ("HANG", "CLEAR"),
    "H5": ("CRASH", "OK"),
    "H6": ("CRASH", "CLEAR"),
    "H7": ("UNCLEAR", "CLEAR"),
}
ELSEWHERE = {
    "H5": "tests/test_reliability.py::test_two_searches_started_at_once_on_a_new_sqlite_file_both_run",
    "H7": "tests/test_parallel.py::test_process_map_in_a_script_without_the_main_guard_says_so",
}

SPACE = {"x": Real(0.0, 1.0)}


def _forever_above_half(params):
    if params["x"] > 0.5:
        while True:  # never returns
            time.sleep(1)
    return params["x"]


def _assert_stopped_at_the_limit(result, limit):
    trials = result.trials
    hung = trials["x"] > 0.5
    assert 0 < hung.sum() < len(trials), "the seed must draw both kinds of trial, or the probe tests nothing"
    assert (trials.loc[hung, "status"] == "failed").all() and (trials.loc[~hung, "status"] == "ok").all()
    assert trials.loc[hung, "error"].str.startswith(
        f"TimeLimitExceeded: the item ran past its time limit of {limit:g} s").all()


def test_H1_serial_objective_that_never_returns_is_stopped_by_a_time_limit():
    # The search's timeout= only stops new trials; a serial time limit stops the running one.
    start = time.monotonic()
    result = search.random_search(_forever_above_half, SPACE, n_trials=6, seed=2, timeout=30,
                                  map=parallel.SerialMap(timeout=1))
    assert time.monotonic() - start < 20
    _assert_stopped_at_the_limit(result, 1)
    with pytest.raises(ValueError, match=r"timeout must be a positive number of seconds per item, or None for "
                                         r"no limit; received -1"):
        parallel.SerialMap(timeout=-1)

    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(
        parallel.SerialMap(timeout=1).map(abs, [-1], return_exceptions=True)[0]))
    worker.start(), worker.join()
    assert isinstance(outcome[0], RuntimeError) and "main thread" in str(outcome[0])


def test_H2_process_map_objective_that_never_returns_is_stopped_by_a_time_limit():
    start = time.monotonic()
    with parallel.ProcessMap(2, timeout=2) as backend:
        result = search.random_search(_forever_above_half, SPACE, n_trials=6, seed=0, timeout=2, map=backend)
    assert time.monotonic() - start < 60
    _assert_stopped_at_the_limit(result, 2)


def _dies_above_half(params):
    if params["x"] > 0.5:
        os._exit(1)
    return params["x"]


def test_H3_an_objective_that_kills_its_worker_fails_only_its_own_trial():
    with parallel.ProcessMap(2) as backend:
        result = search.random_search(_dies_above_half, SPACE, n_trials=6, seed=2, map=backend)
    trials = result.trials
    killers = trials["x"] > 0.5
    assert 0 < killers.sum() < len(trials)
    assert (trials.loc[~killers, "status"] == "ok").all()
    assert trials.loc[~killers, "score"].tolist() == trials.loc[~killers, "x"].tolist()
    assert trials.loc[killers, "error"].str.contains("died again when the item ran alone").all()


def test_H4_dask_map_that_loses_every_worker_mid_call_fails_after_worker_timeout():
    pytest.importorskip("dask.distributed")
    backend = parallel.DaskMap(n_workers=1, worker_timeout=3)
    try:
        assert backend(abs, [-2]) == [2]
        threading.Timer(1.0, lambda: backend._cluster.scale(0)).start()  # every worker goes away
        start = time.monotonic()
        with pytest.raises(TimeoutError, match=r"has had no worker for 3 s, so nothing can run: start workers "
                                               r"\(`dask worker tcp://127\.0\.0\.1:\d+`\)"):
            backend(time.sleep, [5, 5])
        assert time.monotonic() - start < 30
    finally:
        backend.close()


def test_H6_two_runs_on_one_checkpoint_path_the_second_is_refused_and_the_first_keeps_its_result(tmp_path):
    path = tmp_path / "shared.pkl"
    results, errors = [], []
    started = threading.Event()

    def objective(params):
        started.set()
        time.sleep(0.05)
        return -params["x"] ** 2

    first = threading.Thread(target=lambda: results.append(search.genetic_search(
        objective, SPACE, n_trials=8, population_size=4, seed=0, checkpoint=path)))
    first.start()
    started.wait(10)
    try:
        search.genetic_search(objective, SPACE, n_trials=8, population_size=4, seed=1, checkpoint=path, resume=True)
    except ValueError as error:
        errors.append(error)
    first.join()
    assert len(errors) == 1 and "is in use by another run in this process" in str(errors[0])
    assert len(results) == 1 and len(results[0].trials) == 8
    assert len(checkpoints.load(path)["records"]) == 8
    assert not list(tmp_path.glob("*.tmp")) and not (tmp_path / "shared.pkl.lock").exists()
