"""The reliability review's probes (../shared/reviews/reliability.md), kept as tests: nothing silently wrong, nothing
lost, nothing executed."""

import os
import pickle

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

import evolab
from evolab import checkpoint as checkpoints
from evolab import search as es


@pytest.fixture(scope="module")
def digits():
    return evolab.data.load_digits()


def build(seed=0, hidden_units=(16,)):
    evolab.set_seed(seed)
    return evolab.models.mlp((64,), hidden_units=hidden_units)


RUN = dict(strategy="pgpe", population_size=8, batch_size=64, seed=0, progress_bar=False, checkpoint_every=2)


# -- 1. labels: out of range, negative, float, wrong one-hot shape (review: defect 1, E3-E6, E30, K6, N25-N27) ------

BAD_LABELS = {
    "label equal to the number of outputs": (lambda y: np.full(len(y), 10), r"labels in \[0, 10\).*from 10 to 10"),
    "1-based labels": (lambda y: y + 1, r"counted from 1\? Subtract 1"),
    "negative labels": (lambda y: y - 1, r"labels in \[0, 10\).*from -1"),
    "fractional float labels": (lambda y: y + 0.5, "not whole numbers"),
    "one-hot of the wrong width": (lambda y: np.eye(3)[y % 3], r"one-hot rows of 10 columns.*\(360, 3\)"),
    "all-zero one-hot rows": (lambda y: np.zeros((len(y), 10)), "a single 1 per row"),
    "string labels": (lambda y: y.astype(str), "integer class labels"),
}


@pytest.mark.parametrize("case", sorted(BAD_LABELS))
def test_bad_labels_are_refused_everywhere(digits, case):
    make, message = BAD_LABELS[case]
    model = build()
    x, y = digits.validation
    with pytest.raises(ValueError, match=message):
        evolab.PopulationEvaluator(model, x, make(y), metric="neg_loss")
    with pytest.raises(ValueError, match=message):
        evolab.keras_fitness(model, x, make(y), metric="neg_loss")
    with pytest.raises(ValueError, match="validation: .*" + message):
        evolab.neuroevolve(model, digits.train, (x, make(y)), num_generations=1, progress_bar=False)


def test_a_bad_test_split_fails_before_the_first_generation(digits):
    calls = []
    with pytest.raises(ValueError, match="test: "):
        evolab.neuroevolve(build(), digits.train, digits.validation, (digits.test[0], digits.test[1] + 1),
                           num_generations=50, progress_bar=False,
                           callbacks=[evolab.callbacks.LambdaCallback(on_step_end=lambda *a: calls.append(1))])
    assert not calls


def test_whole_float_labels_and_good_one_hot_rows_still_score(digits):
    model = build()
    x, y = digits.validation
    population = evolab.get_parameters(model)[None].repeat(2, 0)
    expected = evolab.PopulationEvaluator(model, x, y, metric="neg_loss")(population)
    np.testing.assert_allclose(evolab.PopulationEvaluator(model, x, y.astype(float), metric="neg_loss")(population),
                               expected)
    np.testing.assert_allclose(evolab.PopulationEvaluator(model, x, np.eye(10)[y], metric="neg_loss")(population),
                               expected)


# -- 3. no data loss: an existing checkpoint is never replaced silently; two runs cannot share one (defects 3, 6) ----

def test_an_existing_checkpoint_is_not_overwritten_without_being_asked(digits, tmp_path):
    path = tmp_path / "run.pkl"
    evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=6, checkpoint=path, **RUN)
    with pytest.raises(ValueError, match="exists: pass resume=True.*overwrite=True"):
        evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=1, checkpoint=path, **RUN)
    assert checkpoints.load(path)["generation"] == 6  # untouched
    evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=1, checkpoint=path, overwrite=True,
                       **RUN)
    assert checkpoints.load(path)["generation"] == 1
    with pytest.raises(ValueError, match="contradict"):
        evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=1, checkpoint=path, resume=True,
                           overwrite=True, **RUN)


def test_a_search_checkpoint_is_not_overwritten_without_being_asked(tmp_path):
    path = tmp_path / "ga.pkl"
    space = {"x": es.Real(-3, 3)}
    es.genetic_search(lambda p: -p["x"] ** 2, space, n_trials=12, population_size=4, seed=0, checkpoint=path)
    records = len(checkpoints.load(path)["records"])
    with pytest.raises(ValueError, match="exists: pass resume=True"):
        es.genetic_search(lambda p: -p["x"] ** 2, space, n_trials=4, population_size=4, seed=0, checkpoint=path)
    assert len(checkpoints.load(path)["records"]) == records


def test_two_runs_cannot_hold_one_checkpoint(tmp_path):
    path = tmp_path / "shared.pkl"
    with checkpoints.holding(path, resume=False):
        with pytest.raises(ValueError, match="in use by another run"):
            checkpoints.claim(path, resume=True)
    (tmp_path / "shared.pkl.lock").write_text("999999999")  # left by a process that no longer exists
    with checkpoints.holding(path, resume=True):
        assert (tmp_path / "shared.pkl.lock").read_text() == str(os.getpid())
    assert not (tmp_path / "shared.pkl.lock").exists()


def test_a_live_process_holding_the_checkpoint_is_named(tmp_path):
    path = tmp_path / "busy.pkl"
    (tmp_path / "busy.pkl.lock").write_text(str(os.getppid()))  # the parent process: alive, not us
    with pytest.raises(ValueError, match=rf"another running process \(pid {os.getppid()}"):
        checkpoints.claim(path, resume=True)


def test_a_checkpoint_path_that_cannot_be_written_fails_before_any_work(digits, tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=3, checkpoint=tmp_path, **RUN)


def test_temporary_files_have_unique_names_and_are_cleaned_up(tmp_path):
    path = tmp_path / "c.pkl"
    for value in range(3):
        checkpoints.save(path, {"value": value})
    assert checkpoints.load(path) == {"value": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pkl"]


# -- 4. nothing executed: a crafted checkpoint does not run code (defect 13) -----------------------------------------

class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_checkpoint_runs_no_code(digits, tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"version": 3, "config": {}, "strategy": _Payload(marker)}))
    with pytest.raises(ValueError, match=r"refers to (posix|os|nt)\.system, which evolab never writes"):
        evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=2, checkpoint=path, resume=True,
                           **RUN)
    with pytest.raises(ValueError, match="never writes"):
        es.genetic_search(lambda p: -p["x"] ** 2, {"x": es.Real(-1, 1)}, n_trials=4, population_size=4,
                          checkpoint=path, resume=True)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"\x80\x05garbage", os.urandom(64), pickle.dumps([1, 2, 3])[:-3]])
def test_damaged_checkpoints_name_the_file(digits, tmp_path, content):
    path = tmp_path / "bad.pkl"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"bad\.pkl.*(damaged|not a neuroevolve|never writes)"):
        evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=2, checkpoint=path, resume=True,
                           **RUN)


def test_every_checkpoint_evolab_writes_reads_back_under_the_restricted_loader(digits, tmp_path):
    space = {"x": es.Real(-3, 3), "k": es.Integer(1, 8), "act": es.Categorical(["relu", "tanh"])}

    def objective(p):
        return -(p["x"] - 1) ** 2 + 0.02 * p["k"]

    runs = {
        "ga": lambda p: es.genetic_search(objective, space, n_trials=8, population_size=4, seed=0, checkpoint=p),
        "ga_binary": lambda p: es.genetic_search(objective, space, n_trials=8, population_size=4, seed=0,
                                                 encoding="binary", checkpoint=p),
        "pso": lambda p: es.pso_search(objective, space, n_trials=8, population_size=4, seed=0, checkpoint=p),
        "de": lambda p: es.de_search(objective, space, n_trials=8, population_size=4, seed=0, checkpoint=p),
        "cmaes": lambda p: es.cmaes_search(lambda q: -q["x"] ** 2 - q["y"] ** 2, {"x": es.Real(-3, 3),
                                           "y": es.Real(-1, 1)}, n_trials=8, seed=0, checkpoint=p),
        "nsga2": lambda p: es.nsga2_search(lambda q: (q["x"], q["k"]), space, n_trials=8, population_size=4, seed=0,
                                           checkpoint=p),
        "architecture": lambda p: es.architecture_search(lambda layers: float(len(layers)), n_trials=8,
                                                         population_size=4, seed=0, checkpoint=p),
    }
    for name, run in runs.items():
        run(tmp_path / f"{name}.pkl")
        assert checkpoints.load(tmp_path / f"{name}.pkl")["records"], name
    for strategy in evolab.strategies.STRATEGIES:
        path = tmp_path / f"neuroevolve_{strategy}.pkl"
        evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=2, checkpoint=path,
                           **{**RUN, "strategy": strategy})
        assert checkpoints.load(path)["generation"] == 2, strategy


# -- 2. stop and resume are exact however the run stopped; resume refuses what differs (defects 2, 4, 10) -----------

def _interrupt_at(monkeypatch, target, attribute, call):
    """Makes the ``call``-th call of ``target.attribute`` raise KeyboardInterrupt (the notebook's Stop button)."""
    original, count = getattr(target, attribute), [0]

    def interrupted(*args, **kwargs):
        count[0] += 1
        if count[0] == call:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(target, attribute, interrupted)


@pytest.mark.parametrize("strategy", ["pgpe", "lowrank_es"])
@pytest.mark.parametrize("where", ["evaluation", "validation", "callback"])
def test_a_stop_anywhere_in_a_generation_resumes_exactly(digits, tmp_path, monkeypatch, strategy, where):
    import evolab.neuro

    options = {**RUN, "strategy": strategy, "population_size": 16, "checkpoint_every": 3}
    full = evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=8, **options)
    path = tmp_path / "stopped.pkl"
    callbacks = []
    with monkeypatch.context() as patch:
        if where == "evaluation":
            if strategy == "lowrank_es":
                _interrupt_at(patch, evolab.strategies.CompiledGeneration, "step", 5)
            else:
                _interrupt_at(patch, evolab.PopulationEvaluator, "__call__", 5)
        elif where == "validation":
            _interrupt_at(patch, evolab.neuro, "evaluate_parameters", 5)
        else:
            def stop_in_callback(step, logs):
                if step == 4:
                    raise KeyboardInterrupt

            callbacks = [evolab.callbacks.LambdaCallback(on_step_end=stop_in_callback)]
        stopped = evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=8, checkpoint=path,
                                     callbacks=callbacks, **options)
    assert stopped.stopped == "interrupted"
    saved = checkpoints.load(path)
    assert saved["generation"] == saved["strategy"]["generation"] == len(saved["history"])
    resumed = evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=8, checkpoint=path,
                                 resume=True, **options)
    np.testing.assert_array_equal(resumed.best_parameters, full.best_parameters)
    np.testing.assert_array_equal(resumed.history["fitness_max"], full.history["fitness_max"])
    np.testing.assert_array_equal(resumed.strategy.center, full.strategy.center)


def test_resume_refuses_another_model_data_or_settings_and_names_them(digits, tmp_path):
    path = tmp_path / "run.pkl"
    evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=4, checkpoint=path, **RUN)
    x, y = digits.train
    changed = {
        "model": dict(model=build(hidden_units=(8, 8))),
        "train": dict(train=(x[::-1], y[::-1])),
        "validation_every": dict(validation_every=2),
        "batch_size": dict(batch_size=32),
        "sigma": dict(sigma=0.5),
    }
    for key, change in changed.items():
        arguments = dict(model=build(), train=digits.train, validation=digits.validation, **RUN)
        arguments.update(change)
        model = arguments.pop("model")
        train, validation = arguments.pop("train"), arguments.pop("validation")
        with pytest.raises(ValueError, match=key):
            evolab.neuroevolve(model, train, validation, num_generations=6, checkpoint=path, resume=True, **arguments)
    with pytest.raises(ValueError, match="holds 4 generations, more than num_generations=2"):
        evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=2, checkpoint=path, resume=True,
                           **RUN)


def top_probability(y_true, y_pred):
    """A caller's own metric at module level: checkpoints name it by its qualified name."""
    from keras import ops

    return ops.mean(ops.max(y_pred, axis=-1))


def test_a_run_with_a_callable_metric_resumes(digits, tmp_path):
    path = tmp_path / "metric.pkl"
    options = {**RUN, "fitness_metric": top_probability}
    evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=2, checkpoint=path, **options)
    assert checkpoints.load(path)["config"]["fitness_metric"] == "test_reliability.top_probability"
    resumed = evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=4, checkpoint=path,
                                 resume=True, **options)
    assert resumed.num_generations == 4


# -- 7. data files: damaged files are named and the loader goes on to the next place; images not scaled twice -------

def test_a_damaged_data_file_is_named_and_skipped(tmp_path, monkeypatch):
    (tmp_path / "mnist.npz").write_bytes(os.urandom(100))
    monkeypatch.setenv("EVOLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras-cache"))
    with pytest.raises(evolab.data.DataNotFoundError, match=r"mnist\.npz is not a readable \.npz"):
        evolab.data.load_mnist(download=False)
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((5, 28, 28), np.uint8), y_train=np.arange(5) + 6,
             x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.arange(2))
    with pytest.raises(evolab.data.DataNotFoundError, match=r"y_train must hold integer labels 0\.\.9.*6\.\.10"):
        evolab.data.load_mnist(download=False, validation_size=1)


def test_float_images_already_in_the_unit_interval_are_not_divided_again(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "mnist.npz", x_train=rng.random((20, 28, 28), dtype=np.float32), y_train=np.arange(20) % 10,
             x_test=rng.random((5, 28, 28), dtype=np.float32), y_test=np.arange(5))
    monkeypatch.setenv("EVOLAB_DATA_DIR", str(tmp_path))
    data = evolab.data.load_mnist(download=False, validation_size=5)
    assert 0.5 < float(data.train[0].max()) <= 1.0


# -- 5. values that survive the cast; NaN data; all-NaN scores (defects 8, 9) ----------------------------------------

def test_values_that_overflow_float32_are_refused(digits):
    model = build()
    vector = evolab.get_parameters(model).astype(np.float64)
    vector[0] = 1e39
    before = evolab.get_parameters(model)
    with pytest.raises(ValueError, match="too large for float32"):
        evolab.set_parameters(model, vector)
    np.testing.assert_array_equal(evolab.get_parameters(model), before)
    with pytest.raises(ValueError, match="too large for float32"):
        evolab.PopulationEvaluator(model, *digits.validation)(vector[None])


def test_a_value_that_overflows_a_float16_layer_is_refused_and_nothing_is_assigned():
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(2, dtype="float16")])
    vector = evolab.get_parameters(model)
    before = vector.copy()
    vector[-1] = 1e5  # fine in float32, infinite in float16
    with pytest.raises(ValueError, match="float16"):
        evolab.set_parameters(model, vector)
    np.testing.assert_array_equal(evolab.get_parameters(model), before)


def test_nan_in_the_data_is_refused_before_a_run(digits):
    x = digits.train[0].copy()
    x[3, 5] = np.nan
    with pytest.raises(ValueError, match="train: x holds NaN.*example 3"):
        evolab.neuroevolve(build(), (x, digits.train[1]), digits.validation, num_generations=2, progress_bar=False)


def test_a_generation_of_only_nan_scores_stops_the_run_with_an_error(digits):
    def always_nan(y_true, y_pred):
        from keras import ops

        return ops.mean(y_pred) * np.nan

    with pytest.raises(ValueError, match="Generation 1: every individual scored NaN"):
        evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=3, progress_bar=False,
                           fitness_metric=always_nan, strategy="snes", population_size=8)


# -- 2b. Bayesian search resumed from storage continues the sampler (defect 5) ---------------------------------------

def test_bayesian_search_resumed_from_storage_equals_an_unbroken_one(tmp_path):
    pytest.importorskip("optuna")
    space = {"x": es.Real(0, 1), "k": es.Integer(1, 8)}

    def objective(p):
        return -(p["x"] - 0.3) ** 2 + 0.01 * p["k"]

    options = dict(seed=0, n_startup_trials=4)
    unbroken = es.bayesian_search(objective, space, n_trials=8, storage=f"sqlite:///{tmp_path}/a.db",
                                  study_name="s", **options)
    es.bayesian_search(objective, space, n_trials=3, storage=f"sqlite:///{tmp_path}/b.db", study_name="s", **options)
    resumed = es.bayesian_search(objective, space, n_trials=8, storage=f"sqlite:///{tmp_path}/b.db", study_name="s",
                                 **options)
    columns = ["x", "k", "score"]
    assert not resumed.trials[columns].duplicated().any()  # the start-up trials were not drawn again
    np.testing.assert_allclose(resumed.trials[columns].to_numpy(float), unbroken.trials[columns].to_numpy(float))
    with pytest.raises(ValueError, match="storage= needs study_name="):
        es.bayesian_search(objective, space, n_trials=2, storage=f"sqlite:///{tmp_path}/c.db")


def test_a_trial_left_running_by_a_killed_process_is_failed_and_run_again(tmp_path):
    optuna = pytest.importorskip("optuna")
    storage = f"sqlite:///{tmp_path}/k.db"
    space = {"x": es.Real(0, 1)}
    es.bayesian_search(lambda p: p["x"], space, n_trials=2, seed=0, storage=storage, study_name="s")
    study = optuna.load_study(study_name="s", storage=storage)
    orphan = study.ask()
    orphan.set_user_attr("process", f"{__import__('socket').gethostname()}:999999999")  # a process that is gone
    result = es.bayesian_search(lambda p: p["x"], space, n_trials=4, seed=0, storage=storage, study_name="s")
    assert len(result.trials) == 4 and (result.trials["status"] == "ok").all()
    states = [t.state for t in optuna.load_study(study_name="s", storage=storage).get_trials()]
    assert optuna.trial.TrialState.RUNNING not in states


def test_a_local_dask_cluster_listens_on_this_machine_only():
    pytest.importorskip("dask.distributed")
    from evolab import parallel

    with parallel.DaskMap(n_workers=1) as backend:
        addresses = [backend.client.scheduler.address, backend.dashboard_link,
                     *backend.client.scheduler_info()["workers"]]
        assert all("127.0.0.1" in address for address in addresses), addresses
        assert list(backend(abs, [-1, 2])) == [1, 2]  # and it works


# -- 7b. the command line: one-line errors, warnings for flags that do not apply (defect 14) -------------------------

def test_the_cli_refuses_bad_values_in_one_line(capsys):
    from evolab import cli

    with pytest.raises(SystemExit) as stop:
        cli.main(["neuroevolve", "--population-size", "0"])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert "expected an integer >= 2, received 0" in error and "Traceback" not in error


def test_the_cli_warns_about_flags_that_do_not_apply_and_refuses_a_forgotten_resume(tmp_path, capsys):
    from evolab import cli

    arguments = ["neuroevolve", "--generations", "2", "--population-size", "8", "--no-progress", "--out",
                 str(tmp_path / "run"), "--train-size", "100"]
    assert cli.main(arguments) == 0
    assert "--train-size applies to mnist" in capsys.readouterr().err
    assert cli.main(arguments) == 2  # run again without --resume: the checkpoint is kept
    assert "exists: pass resume=True" in capsys.readouterr().err
    assert cli.main(arguments + ["--overwrite"]) == 0


def test_a_finished_search_checkpoint_holds_its_last_generation_and_resumes_without_rerunning(tmp_path):
    path = tmp_path / "done.pkl"
    calls = []

    def objective(p):
        calls.append(p["x"])
        return -p["x"] ** 2

    space = {"x": es.Real(-3, 3)}
    es.genetic_search(objective, space, n_trials=12, population_size=4, seed=0, checkpoint=path)
    assert len(checkpoints.load(path)["records"]) == 12 and len(calls) == 12  # the review found 11 of 12
    again = es.genetic_search(objective, space, n_trials=12, population_size=4, seed=0, checkpoint=path,
                              resume=True)
    assert len(calls) == 12 and len(again.trials) == 12  # nothing ran twice


# -- 7c. the GA and NSGA-II never train the same decoded params twice (defect 7) -------------------------------------

def test_evolutionary_searches_never_train_the_same_params_twice():
    space = {"x": es.Real(-3, 3), "k": es.Integer(1, 8), "act": es.Categorical(["relu", "tanh", "elu"])}
    columns = ["x", "k", "act"]
    ga = es.genetic_search(lambda q: -(q["x"] - 1) ** 2 + 0.02 * q["k"], space, n_trials=40, population_size=6,
                           seed=0)
    assert not ga.trials.duplicated(subset=columns).any()  # the review counted 14 of 40
    nsga = es.nsga2_search(lambda q: (q["x"], -q["k"]), space, n_trials=24, population_size=8, seed=0)
    assert not nsga.trials.duplicated(subset=columns).any()


# -- 7d. low-level errors become evolab messages ("smaller ones" of the review) -------------------------------------

def test_empty_data_empty_populations_wrong_features_and_fractional_batches_get_clear_errors(digits):
    model = build()
    x, y = digits.validation
    with pytest.raises(ValueError, match="at least one example"):
        evolab.PopulationEvaluator(model, x[:0], y[:0])
    with pytest.raises(ValueError, match=r"examples of shape \(32,\), but the model takes \(64,\)"):
        evolab.PopulationEvaluator(model, x[:, :32], y)
    with pytest.raises(ValueError, match="must hold numbers"):
        evolab.PopulationEvaluator(model, x.astype(str), y)
    with pytest.raises(ValueError, match="batch_size"):
        evolab.PopulationEvaluator(model, x, y, batch_size=2.5)
    evaluator = evolab.PopulationEvaluator(model, x, y)
    with pytest.raises(ValueError, match="population_size >= 1 individuals"):
        evaluator(np.zeros((0, evaluator.layout.num_params), np.float32))


def test_equal_categorical_choices_and_a_nan_toolbox_center_are_refused():
    with pytest.raises(ValueError, match="'relu' appears more than once"):
        es.random_search(lambda p: 0.0, {"act": es.Categorical(["relu", "tanh", "relu"])}, n_trials=2)
    with pytest.raises(ValueError, match="finite numbers"):
        evolab.deap_tools.numpy_toolbox(np.array([0.0, np.nan]))


def test_two_searches_started_at_once_on_a_new_sqlite_file_both_run(tmp_path):
    # Review defect 6: two processes creating Optuna's tables in one new SQLite file; the loser crashed.
    pytest.importorskip("optuna")
    import subprocess
    import sys
    import time

    script = tmp_path / "race.py"
    script.write_text(
        "import sys, time\n"
        "from evolab import search\n"
        "start = float(sys.argv[1])\n"
        "while time.time() < start:\n"
        "    time.sleep(0.001)\n"
        "result = search.bayesian_search(lambda p: -(p['x'] - 0.3) ** 2, {'x': search.Real(0, 1)}, n_trials=4,\n"
        f"    seed=int(sys.argv[2]), storage='sqlite:///{tmp_path}/race.db', study_name='s', n_startup_trials=2)\n"
        "print(len(result.trials))\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(evolab.__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    start = time.time() + 15  # both have imported evolab and Optuna by then
    runs = [subprocess.Popen([sys.executable, str(script), str(start), str(seed)], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for seed in (0, 1)]
    outcomes = [run.communicate(timeout=120) for run in runs]
    for run, (out, err) in zip(runs, outcomes):
        assert run.returncode == 0, err[-2000:]
        assert int(out.split()[-1]) >= 4
