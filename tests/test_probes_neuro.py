"""The reliability review's probes of ``neuroevolve`` (N1..N42) and of resuming from checkpoints (R1..R26), re-run as
tests: one test per probe of the "Probe table" in ../shared/reviews/reliability.md.

Each test rebuilds the probe's input or situation and asserts what a careful user expects today: a bad input is
refused before any work with an evolab error naming what was expected and what came; a valid edge input runs and
gives the right result. ``OUTCOMES`` records, per probe, the review's class and the class it has now. The set-up is
the review's (digits, the default MLP 64-32-10 with 2410 parameters), kept tiny: populations of 4 to 8, 1 to 3
generations, mini-batches of 64.
"""

import os
import pickle
import shutil
import sys
import types

import numpy as np
import pytest

import evolab
from evolab import checkpoint as checkpoints
from evolab import search as es
from evolab.callbacks import LambdaCallback

OUTCOMES = {
    # neuroevolve arguments and runs: (the review's class, the class now)
    "N1": ("CLEAR", "CLEAR"), "N2": ("CLEAR", "CLEAR"), "N3": ("CLEAR", "CLEAR"), "N4": ("CLEAR", "CLEAR"),
    "N5": ("CLEAR", "CLEAR"), "N6": ("CLEAR", "CLEAR"), "N7": ("CLEAR", "CLEAR"), "N8": ("CLEAR", "CLEAR"),
    "N9": ("CLEAR", "CLEAR"), "N10": ("CLEAR", "CLEAR"), "N11": ("OK", "OK"), "N12": ("CLEAR", "CLEAR"),
    "N13": ("CLEAR", "CLEAR"), "N14": ("CLEAR", "CLEAR"), "N15": ("CLEAR", "CLEAR"), "N16": ("CLEAR", "CLEAR"),
    "N17": ("CLEAR", "CLEAR"), "N18": ("CLEAR", "CLEAR"), "N19": ("CLEAR", "CLEAR"), "N20": ("CLEAR", "CLEAR"),
    "N21": ("CLEAR", "CLEAR"), "N22": ("CLEAR", "CLEAR"), "N23": ("CLEAR", "CLEAR"), "N24": ("CLEAR", "CLEAR"),
    "N25": ("SILENT", "CLEAR"), "N26": ("SILENT", "CLEAR"), "N27": ("CLEAR", "CLEAR"), "N28": ("SILENT", "CLEAR"),
    "N29": ("OK", "CLEAR"), "N30": ("SILENT", "CLEAR"), "N31": ("CLEAR", "CLEAR"), "N32": ("CLEAR", "CLEAR"),
    "N33": ("CLEAR", "CLEAR"), "N34": ("CLEAR", "CLEAR"), "N35": ("UNCLEAR", "CLEAR"), "N36": ("UNCLEAR", "CLEAR"),
    "N37": ("UNCLEAR", "CLEAR"), "N38": ("CLEAR", "CLEAR"), "N39": ("CLEAR", "CLEAR"), "N40": ("OK", "OK"),
    "N41": ("CLEAR", "CLEAR"), "N42": ("OK", "OK"),
    # resume from checkpoints (neuroevolve, then the checkpointed searches)
    "R1": ("UNCLEAR", "CLEAR"), "R2": ("UNCLEAR", "CLEAR"), "R3": ("UNCLEAR", "CLEAR"), "R4": ("UNCLEAR", "CLEAR"),
    "R5": ("UNCLEAR", "CLEAR"), "R6": ("UNCLEAR", "CLEAR"), "R7": ("CLEAR", "CLEAR"), "R8": ("SILENT", "CLEAR"),
    "R9": ("SILENT", "CLEAR"), "R10": ("DATALOSS", "CLEAR"), "R11": ("CLEAR", "OK"), "R12": ("SILENT", "CLEAR"),
    "R13": ("UNCLEAR", "OK"), "R14": ("SECURITY", "CLEAR"), "R15": ("SILENT", "CLEAR"), "R16": ("SILENT", "CLEAR"),
    "R17": ("UNCLEAR", "CLEAR"), "R18": ("UNCLEAR", "CLEAR"), "R19": ("CLEAR", "CLEAR"),
    "R20": ("SILENT", "CLEAR"),
    "R21": ("SILENT", "CLEAR"),
    "R22": ("DATALOSS", "CLEAR"),
    "R23": ("SILENT", "CLEAR"),
    "R24": ("CLEAR", "CLEAR"), "R25": ("SILENT", "OK"), "R26": ("OK", "OK"),
}

RUN = dict(strategy="snes", population_size=8, batch_size=64, seed=0, progress_bar=False)


@pytest.fixture(scope="module")
def digits():
    return evolab.data.load_digits()


def build(activation="relu"):
    """The review's model: an MLP 64-32-10 (2410 parameters), from seeded initial weights."""
    evolab.set_seed(0)
    return evolab.models.mlp((64,), activation=activation)


@pytest.fixture(scope="module")
def model():
    """One model for the probes refused before any work (they never change its weights)."""
    return build()


def evolve(digits, model=None, train=None, validation=None, test=None, num_generations=1, **options):
    """``neuroevolve`` on digits with the review's small settings; ``options`` override them."""
    options = {**RUN, **options}
    return evolab.neuroevolve(build() if model is None else model, digits.train if train is None else train,
                              digits.validation if validation is None else validation, test,
                              num_generations=num_generations, **options)


def counting_callback():
    """A callback and the list of generations it saw: an empty list means the run stopped before any work."""
    seen = []
    return LambdaCallback(on_step_end=lambda step, logs: seen.append(step)), seen


# ---- N: neuroevolve arguments -----------------------------------------------------------------------------------

def test_N1_population_size_zero_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"population_size must be an integer >= 2; received 0"):
        evolve(digits, model, population_size=0)


def test_N2_negative_population_size_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"population_size must be an integer >= 2; received -4"):
        evolve(digits, model, population_size=-4)


def test_N3_population_of_one_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"population_size must be an integer >= 2; received 1"):
        evolve(digits, model, population_size=1)


def test_N4_float_population_size_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"population_size must be an integer >= 2; received 8\.0"):
        evolve(digits, model, population_size=8.0)


def test_N5_zero_generations_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"num_generations must be an integer >= 1; received 0"):
        evolve(digits, model, num_generations=0)


def test_N6_negative_generations_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"num_generations must be an integer >= 1; received -3"):
        evolve(digits, model, num_generations=-3)


def test_N7_batch_size_zero_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"batch_size must be None or an integer in \[1, 1077\]; received 0"):
        evolve(digits, model, batch_size=0)


def test_N8_negative_batch_size_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"batch_size must be None or an integer in \[1, 1077\]; received -1"):
        evolve(digits, model, batch_size=-1)


def test_N9_batch_larger_than_the_training_set_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"batch_size must be None or an integer in \[1, 1077\]; received 5000"):
        evolve(digits, model, batch_size=5000)


def test_N10_unknown_strategy_name_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"Expected a strategy name, one of \[.*'snes'.*\].*received 'cmaes'"):
        evolve(digits, model, strategy="cmaes")


def test_N11_upper_case_strategy_name_runs_that_strategy(digits):
    result = evolve(digits, strategy="SNES")
    assert isinstance(result.strategy, evolab.strategies.SNES)
    assert result.config["strategy"] == "snes"  # recorded in lower case, so it resumes under either spelling (R11)
    assert result.num_generations == 1 and len(result.history) == 1


def test_N12_an_option_of_another_strategy_is_refused(digits, model):
    # `sigma` is now every evolution strategy's name for its noise scale, so SNES takes it ...
    assert evolve(digits, strategy="snes", sigma=0.1).strategy.hyperparameters["sigma"] == 0.1
    # ... while an option only the GA has, or the name `sigma` replaced, is refused and named
    with pytest.raises(ValueError, match=r"Unknown hyperparameter\(s\) \['mutation_rate'\] for SNES; expected some "
                                         r"of \['sigma'"):
        evolve(digits, model, strategy="snes", mutation_rate=0.1)
    with pytest.raises(ValueError, match=r"SNES does not take \['init_sigma'\]: init_sigma -> sigma"):
        evolve(digits, model, strategy="snes", init_sigma=0.1)


def test_N13_openai_es_with_an_odd_population_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"mirrored pairs.*population_size must be even; received 7"):
        evolve(digits, model, strategy="openai_es", population_size=7)


def test_N14_empty_training_set_is_refused(digits, model):
    x, y = digits.train
    with pytest.raises(ValueError, match=r"train: x and y must hold the same, non-zero number of examples; "
                                         r"received 0 and 0"):
        evolve(digits, model, train=(x[:0], y[:0]))


def test_N15_training_x_and_y_of_different_lengths_are_refused(digits, model):
    x, y = digits.train
    with pytest.raises(ValueError, match=r"train: x and y must hold the same.*received 1077 and 1076"):
        evolve(digits, model, train=(x, y[:-1]))


def test_N16_a_dataset_object_as_validation_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"validation must be an \(x, y\) pair; received Dataset"):
        evolve(digits, model, validation=digits)


def test_N17_checkpoint_every_zero_is_refused(digits, model, tmp_path):
    with pytest.raises(ValueError, match=r"checkpoint_every must be an integer >= 1; received 0"):
        evolve(digits, model, checkpoint=tmp_path / "c.pkl", checkpoint_every=0)
    assert not list(tmp_path.iterdir())


def test_N18_resume_without_a_checkpoint_path_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"resume=True needs checkpoint=PATH"):
        evolve(digits, model, resume=True)


def test_N19_negative_seed_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"seed must be an integer >= 0; received -1"):
        evolve(digits, model, seed=-1)


def test_N20_seed_none_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"seed must be an integer >= 0; received None"):
        evolve(digits, model, seed=None)


def test_N21_a_strategy_instance_of_the_wrong_size_is_refused(digits, model):
    wrong = evolab.strategies.get_strategy("snes", num_params=10, population_size=8, seed=0)
    with pytest.raises(ValueError, match=r"Expected a strategy with num_params=2410 and population_size=8, "
                                         r"received SNES\(num_params=10, population_size=8"):
        evolve(digits, model, strategy=wrong)


def test_N22_unknown_fitness_metric_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"metric must be 'accuracy', 'neg_loss' or a callable; received 'bogus'"):
        evolve(digits, model, fitness_metric="bogus")


def test_N23_a_callback_that_is_not_a_callback_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"callbacks must be evolab\.callbacks\.Callback instances; received "
                                         r"builtin_function_or_method"):
        evolve(digits, model, callbacks=[print])


def test_N24_an_unbuilt_model_is_refused(digits):
    import keras

    unbuilt = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
    with pytest.raises(ValueError, match=r"Model 'sequential.*' is not built yet.*Build it first"):
        evolve(digits, unbuilt)


def test_N25_one_based_labels_are_refused_with_a_hint(digits, model):
    x, y = digits.train
    with pytest.raises(ValueError, match=r"train: Expected labels in \[0, 10\).*received labels from 1 to 10\. "
                                         r"Labels counted from 1\? Subtract 1"):
        evolve(digits, model, train=(x, y + 1))


def test_N26_fractional_float_labels_are_refused(digits, model):
    x, y = digits.train
    with pytest.raises(ValueError, match=r"train: Expected integer class labels in y; received floats that are not "
                                         r"whole numbers \(e\.g\. \d+\.5\)"):
        evolve(digits, model, train=(x, y + 0.5))


def test_N27_a_test_split_with_the_wrong_feature_count_fails_before_the_first_generation(digits, model):
    x, y = digits.test
    callback, seen = counting_callback()
    with pytest.raises(ValueError, match=r"test: x has examples of shape \(60,\), but the model takes \(64,\)"):
        evolve(digits, model, test=(x[:, :60], y), num_generations=3, callbacks=[callback])
    assert seen == []  # the review found it only after every generation had run


def test_N28_nan_in_one_training_example_is_refused(digits, model):
    x, y = digits.train
    x = x.copy()
    x[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"train: x holds NaN or infinite values \(e\.g\. at example 0\)"):
        evolve(digits, model, train=(x, y), batch_size=None)


def test_N29_a_diverging_learning_rate_stops_the_run_with_an_error(digits):
    callback, seen = counting_callback()
    with pytest.raises(ValueError, match=r"Generation 2: every individual scored NaN or infinity, so the run stops"):
        evolve(digits, num_generations=3, learning_rate=1e30, callbacks=[callback])
    assert seen == [0]  # generation 1 ran; generation 2's population was all inf


def nan_metric(y_true, y_pred):
    from keras import ops

    return ops.mean(y_pred) * float("nan")


def test_N30_a_callable_metric_returning_nan_stops_the_run_with_an_error(digits):
    with pytest.raises(ValueError, match=r"Generation 1: every individual scored NaN or infinity.*fitness metric"):
        evolve(digits, fitness_metric=nan_metric, num_generations=2)


def test_N31_nan_learning_rate_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"Expected learning_rate to be a finite number > 0, received nan"):
        evolve(digits, model, strategy="openai_es", learning_rate=float("nan"))


def test_N32_negative_initial_sigma_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"Expected sigma to be a finite number > 0, received -1"):
        evolve(digits, model, strategy="pgpe", sigma=-1)


def test_N33_as_many_elites_as_individuals_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"Expected num_elites.*to be an int in \[0, .*8\), received 8"):
        evolve(digits, model, strategy="ga", num_elites=8)


def test_N34_validation_every_zero_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"validation_every must be an integer >= 1; received 0"):
        evolve(digits, model, validation_every=0)


def test_N35_a_checkpoint_path_that_is_a_folder_is_refused_before_any_work(digits, model, tmp_path):
    folder = tmp_path / "ck_dir"
    folder.mkdir()
    callback, seen = counting_callback()
    with pytest.raises(checkpoints.CheckpointError, match=r"checkpoint '.*ck_dir' is a folder; pass a file path"):
        evolve(digits, model, num_generations=3, checkpoint=folder, callbacks=[callback])
    assert seen == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck_dir"]  # no ck_dir.tmp or lock left behind
    assert not list(folder.iterdir())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux's /proc")
def test_N36_an_unwritable_checkpoint_path_is_refused_before_any_work(digits, model):
    callback, seen = counting_callback()
    with pytest.raises(checkpoints.CheckpointError, match=r"checkpoint '/proc/evolab_probe/ck\.pkl' cannot be "
                                                          r"written \(\w+Error"):
        evolve(digits, model, num_generations=3, checkpoint="/proc/evolab_probe/ck.pkl", callbacks=[callback])
    assert seen == []


def test_N37_training_examples_with_the_wrong_feature_count_are_refused(digits, model):
    x, y = digits.train
    with pytest.raises(ValueError, match=r"train: x has examples of shape \(60,\), but the model takes \(64,\)"):
        evolve(digits, model, train=(x[:, :60], y))
    x, y = digits.validation  # the validation split too, before the first generation
    with pytest.raises(ValueError, match=r"validation: x has examples of shape \(60,\), but the model takes"):
        evolve(digits, model, validation=(x[:, :60], y))


def test_N38_population_chunk_zero_is_refused(digits, model):
    with pytest.raises(ValueError, match=r"population_chunk must be a positive integer; received 0"):
        evolve(digits, model, population_chunk=0)


def test_N39_strategy_options_with_a_strategy_instance_are_refused(digits, model):
    ready = evolab.strategies.get_strategy("snes", num_params=2410, population_size=8, seed=0)
    with pytest.raises(ValueError, match=r"Hyperparameters cannot be applied to an already built strategy; "
                                         r"received \['sigma'\]"):
        evolve(digits, model, strategy=ready, sigma=0.1)


def test_N40_validation_every_beyond_the_run_validates_the_last_generation(digits):
    net = build()
    result = evolve(digits, net, num_generations=3, validation_every=5)
    val = result.history["val_accuracy"].to_numpy()
    assert np.isnan(val[:2]).all() and np.isfinite(val[2])  # only the last generation is validated
    assert result.best_val_accuracy == val[2]
    assert result.best_val_accuracy == pytest.approx(
        evolab.evaluate_parameters(net, result.best_parameters, *digits.validation))


def test_N41_a_dict_as_training_set_is_refused(digits, model):
    x, y = digits.train
    with pytest.raises(ValueError, match=r"train must be an \(x, y\) pair; received dict"):
        evolve(digits, model, train={"x": x, "y": y})


def test_N42_unnormalised_uint8_pixels_are_accepted(digits):
    x, y = digits.train
    pixels = np.rint(x * 16).astype(np.uint8)  # the raw digits scale, 0..16
    assert pixels.max() == 16
    net = build()
    result = evolve(digits, net, train=(pixels, y), num_generations=2)
    assert result.stopped == "completed" and len(result.history) == 2
    assert result.config["train"].startswith("(1077, 64) uint8")
    assert np.isfinite(result.history["fitness_max"]).all()
    assert result.best_val_accuracy == pytest.approx(result.history["val_accuracy"].max())
    assert 0.0 <= result.best_val_accuracy <= 1.0


# ---- R: resume from a neuroevolve checkpoint --------------------------------------------------------------------

@pytest.fixture(scope="module")
def written(digits, tmp_path_factory):
    """A 2-generation SNES checkpoint, written once, and the uninterrupted 3-generation run to compare with."""
    path = tmp_path_factory.mktemp("written") / "run.pkl"
    evolve(digits, num_generations=2, checkpoint=path, checkpoint_every=1)
    return path, evolve(digits, num_generations=3)


@pytest.fixture
def run_pkl(written, tmp_path):
    """A fresh copy of the 2-generation checkpoint for one test."""
    path = tmp_path / "run.pkl"
    shutil.copyfile(written[0], path)
    return path


def resume(digits, path, num_generations=3, **options):
    return evolve(digits, num_generations=num_generations, checkpoint=path, resume=True, **options)


def test_R1_a_truncated_checkpoint_is_named_as_damaged(digits, run_pkl):
    run_pkl.write_bytes(run_pkl.read_bytes()[: run_pkl.stat().st_size // 2])
    with pytest.raises(checkpoints.CheckpointError, match=r"checkpoint '.*run\.pkl' is damaged or not an evolab "
                                                          r"checkpoint \(UnpicklingError"):
        resume(digits, run_pkl)


def test_R2_an_empty_checkpoint_is_named_as_damaged(digits, run_pkl):
    run_pkl.write_bytes(b"")
    with pytest.raises(checkpoints.CheckpointError, match=r"run\.pkl' is damaged or not an evolab checkpoint "
                                                          r"\(EOFError"):
        resume(digits, run_pkl)


def test_R3_a_checkpoint_of_random_bytes_is_named_as_damaged(digits, run_pkl):
    run_pkl.write_bytes(np.random.default_rng(3).bytes(256))
    with pytest.raises(checkpoints.CheckpointError, match=r"run\.pkl' is damaged or not an evolab checkpoint"):
        resume(digits, run_pkl)


def test_R4_a_pickled_list_is_not_a_neuroevolve_checkpoint(digits, run_pkl):
    run_pkl.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(checkpoints.CheckpointError, match=r"run\.pkl' is not a neuroevolve checkpoint"):
        resume(digits, run_pkl)


@pytest.mark.parametrize("keys, message", [(["strategy"], "is not a neuroevolve checkpoint"),
                                           (["history"], r"is damaged: it lacks \['history'\]"),
                                           (["strategy", "rng_state"], r"is damaged: its strategy state cannot be "
                                                                       r"read \(KeyError: 'rng_state'\)")])
def test_R5_a_checkpoint_missing_a_key_is_refused(digits, run_pkl, keys, message):
    state = checkpoints.load(run_pkl)
    holder = state
    for key in keys[:-1]:
        holder = holder[key]
    del holder[keys[-1]]
    checkpoints.save(run_pkl, state)
    with pytest.raises(checkpoints.CheckpointError, match=r"run\.pkl' " + message):
        resume(digits, run_pkl)


def test_R6_a_checkpoint_of_another_format_version_says_so(digits, run_pkl):
    state = checkpoints.load(run_pkl)
    checkpoints.save(run_pkl, {**state, "version": 2})
    with pytest.raises(checkpoints.CheckpointError, match=r"another version of evolab's neuroevolve \(format 2, "
                                                          r"this one writes 3\).*overwrite=True"):
        resume(digits, run_pkl)


def test_R7_resume_with_another_population_size_is_refused(digits, run_pkl):
    with pytest.raises(ValueError, match=r"different set-up \(population_size: checkpoint 8, this run 4\)"):
        resume(digits, run_pkl, population_size=4)


def test_R8_resume_with_another_strategy_option_is_refused(digits, run_pkl):
    with pytest.raises(ValueError, match=r"run\.pkl was written by a different set-up: .*sigma: saved 0\.05, "
                                         r"here 0\.5.*overwrite=True"):
        resume(digits, run_pkl, sigma=0.5)


def test_R9_resume_with_fewer_generations_than_the_checkpoint_holds_is_refused(digits, run_pkl):
    with pytest.raises(ValueError, match=r"holds 2 generations, more than num_generations=1"):
        resume(digits, run_pkl, num_generations=1)


def test_R10_a_run_without_resume_does_not_overwrite_an_existing_checkpoint(digits, run_pkl):
    before = run_pkl.read_bytes()
    with pytest.raises(checkpoints.CheckpointError, match=r"run\.pkl' exists: pass resume=True to continue that run, "
                                                          r"or overwrite=True"):
        evolve(digits, num_generations=1, checkpoint=run_pkl)
    assert run_pkl.read_bytes() == before
    assert checkpoints.load(run_pkl)["generation"] == 2


def test_R11_resume_with_the_strategy_name_in_another_case_continues_the_run(digits, run_pkl, written):
    uninterrupted = written[1]
    resumed = resume(digits, run_pkl, strategy="SNES")
    assert resumed.num_generations == 3
    np.testing.assert_array_equal(resumed.best_parameters, uninterrupted.best_parameters)
    np.testing.assert_array_equal(resumed.history["fitness_max"], uninterrupted.history["fitness_max"])


def test_R12_resume_with_other_training_data_is_refused(digits, run_pkl):
    with pytest.raises(ValueError, match=r"different set-up \(train: checkpoint '\(1077, 64\).*this run '\(360, 64\)"):
        resume(digits, run_pkl, train=digits.validation)


def top_probability(y_true, y_pred):
    """A caller's own fitness metric, defined at module level as in a script."""
    from keras import ops

    return ops.mean(ops.max(y_pred, axis=-1))


def test_R13_a_run_with_a_callable_metric_resumes_with_a_new_function_object(digits, tmp_path):
    path = tmp_path / "metric.pkl"
    evolve(digits, num_generations=2, checkpoint=path, fitness_metric=top_probability)
    # what a new process sees: the same code, but another function object at another address
    again = types.FunctionType(top_probability.__code__, top_probability.__globals__, top_probability.__name__)
    again.__qualname__, again.__module__ = top_probability.__qualname__, top_probability.__module__
    assert again is not top_probability and repr(again) != repr(top_probability)
    resumed = resume(digits, path, fitness_metric=again)
    uninterrupted = evolve(digits, num_generations=3, fitness_metric=top_probability)
    assert resumed.num_generations == 3
    np.testing.assert_array_equal(resumed.history["fitness_max"], uninterrupted.history["fitness_max"])


class _Payload:
    """A crafted pickle: loading it would run a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_R14_a_crafted_checkpoint_runs_no_code(digits, tmp_path):
    marker, path = tmp_path / "PWNED_marker", tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"version": 3, "config": {}, "strategy": _Payload(marker)}))
    with pytest.raises(checkpoints.CheckpointError, match=r"evil\.pkl' refers to (posix|os|nt)\.system, which evolab "
                                                          r"never writes into a checkpoint"):
        resume(digits, path)
    assert not marker.exists()


def test_R15_resume_with_another_validation_interval_is_refused(digits, run_pkl):
    with pytest.raises(ValueError, match=r"different set-up \(validation_every: checkpoint 1, this run 2\)"):
        resume(digits, run_pkl, validation_every=2)


def test_R16_resume_with_another_model_of_the_same_size_is_refused(digits, run_pkl):
    tanh = build(activation="tanh")
    assert tanh.count_params() == 2410
    with pytest.raises(ValueError, match=r"different set-up \(model: checkpoint 'Dense\(relu\).*this run "
                                         r"'Dense\(tanh\)"):
        resume(digits, run_pkl, model=tanh)


# ---- R: resume the checkpointed searches ------------------------------------------------------------------------

SPACE = {"x": es.Real(-5, 5), "k": es.Integer(1, 5)}


def bowl(params):
    return -(params["x"] - 1) ** 2 + 0.1 * params["k"]


def tilt(params):
    return params["x"]


def ga(path, objective=bowl, space=SPACE, n_trials=12, **options):
    options = {"population_size": 4, "seed": 0, **options}
    return es.genetic_search(objective, space, n_trials=n_trials, checkpoint=path, **options)


def test_R17_genetic_search_names_a_truncated_checkpoint(tmp_path):
    path = tmp_path / "ga17.pkl"
    ga(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(checkpoints.CheckpointError, match=r"ga17\.pkl' is damaged or not an evolab checkpoint "
                                                          r"\(UnpicklingError"):
        ga(path, resume=True)


def test_R18_genetic_search_names_an_empty_checkpoint(tmp_path):
    path = tmp_path / "ga18.pkl"
    path.write_bytes(b"")
    with pytest.raises(checkpoints.CheckpointError, match=r"ga18\.pkl' is damaged or not an evolab checkpoint "
                                                          r"\(EOFError"):
        ga(path, resume=True)


def test_R19_genetic_search_refuses_a_checkpoint_of_another_space(tmp_path):
    path = tmp_path / "ga19.pkl"
    ga(path)
    with pytest.raises(ValueError, match=r"ga19\.pkl' belongs to another search: expected \('genetic', "
                                         r"\"SearchSpace\(\{'x': Real\(-5, 5"):
        ga(path, space={"x": es.Real(-5, 5)}, resume=True)


def test_R20_genetic_search_refuses_resume_with_another_population_size_and_seed(tmp_path):
    path = tmp_path / "ga20.pkl"
    ga(path)
    with pytest.raises(ValueError, match=r"population_size"):
        ga(path, n_trials=20, population_size=8, seed=123, resume=True)


def test_R21_genetic_search_refuses_resume_with_another_objective(tmp_path):
    path = tmp_path / "ga21.pkl"
    ga(path)
    with pytest.raises(ValueError, match=r"objective"):
        ga(path, objective=tilt, n_trials=20, resume=True)


def test_R22_genetic_search_without_resume_keeps_an_existing_checkpoint(tmp_path):
    path = tmp_path / "ga22.pkl"
    ga(path, n_trials=30)
    before = path.read_bytes()
    with pytest.raises(checkpoints.CheckpointError, match=r"ga22\.pkl' exists: pass resume=True"):
        ga(path, n_trials=8)
    assert path.read_bytes() == before and len(checkpoints.load(path)["records"]) == 30


def test_R23_binary_genetic_search_refuses_resume_with_other_real_bits(tmp_path):
    path = tmp_path / "ga23.pkl"
    ga(path, space={"x": es.Real(-5, 5, bits=8), "k": es.Integer(1, 5)}, n_trials=8, encoding="binary")
    with pytest.raises(ValueError, match=r"bits"):
        ga(path, space={"x": es.Real(-5, 5, bits=3), "k": es.Integer(1, 5)}, encoding="binary", resume=True)


def test_R24_pso_search_refuses_a_de_search_checkpoint(tmp_path):
    path = tmp_path / "de24.pkl"
    es.de_search(bowl, SPACE, n_trials=8, population_size=4, seed=0, checkpoint=path)
    with pytest.raises(ValueError, match=r"de24\.pkl' belongs to another search: expected \('pso', .*received "
                                         r"\('de', "):
        es.pso_search(bowl, SPACE, n_trials=8, population_size=4, seed=0, checkpoint=path, resume=True)


def test_R25_a_finished_search_checkpoint_holds_every_trial_and_resuming_runs_none(tmp_path):
    path, calls = tmp_path / "ga25.pkl", []

    def counted(params):
        calls.append(params)
        return bowl(params)

    finished = ga(path, objective=counted)
    assert len(calls) == 12 and len(checkpoints.load(path)["records"]) == 12  # the review found 11 of 12
    again = ga(path, objective=counted, resume=True)
    assert len(calls) == 12  # nothing ran twice
    assert again.trials[["x", "k", "score"]].equals(finished.trials[["x", "k", "score"]])


def test_R26_de_search_cut_mid_generation_resumes_to_the_uninterrupted_result(tmp_path):
    path = tmp_path / "de26.pkl"
    options = dict(population_size=4, seed=0)
    es.de_search(bowl, SPACE, n_trials=7, checkpoint=path, **options)  # the budget ends inside generation 2
    assert len(checkpoints.load(path)["records"]) == 7
    resumed = es.de_search(bowl, SPACE, n_trials=20, checkpoint=path, resume=True, **options)
    uninterrupted = es.de_search(bowl, SPACE, n_trials=20, **options)
    assert len(resumed.trials) == 20
    columns = ["x", "k", "score", "status"]
    assert resumed.trials[columns].equals(uninterrupted.trials[columns])
