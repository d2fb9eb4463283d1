"""The reliability review's probes W1-W26 and X1-X18, re-run as tests.

W: the flat parameter vector (``set_parameters``, ``get_parameters``, ``ParameterLayout``).
X: argument checks of ``ProcessMap``, ``DaskMap``, ``SerialMap`` and ``resolve_map``; ``keras_objective`` and
``build_mlp`` (evolab/search/keras.py); ``evolab.deap_tools`` and its ``BatchedMap``.

Each test is one row of the "Probe table" in ../shared/reviews/reliability.md, run against today's code:
a bad input must give an evolab error saying what was expected and what came; a valid edge input must be
accepted and give the right result. ``OUTCOMES`` records each probe's class in the review and now.
The review's common set-up: ``d = evolab.data.load_digits(); m = evolab.models.mlp(d.input_shape)``, an MLP
64-32-10 with 2410 parameters.
"""

import os
import re
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import evolab  # noqa: E402
from evolab import search as es  # noqa: E402
from evolab.parallel import ProcessMap, SerialMap, resolve_map  # noqa: E402

# probe id -> (class in the review, class now)
OUTCOMES = {
    "W1": ("CLEAR", "CLEAR"), "W2": ("CLEAR", "CLEAR"), "W3": ("CLEAR", "CLEAR"), "W4": ("CLEAR", "CLEAR"),
    "W5": ("CLEAR", "CLEAR"), "W6": ("CLEAR", "CLEAR"), "W7": ("CLEAR", "CLEAR"), "W8": ("CLEAR", "CLEAR"),
    "W9": ("CLEAR", "CLEAR"), "W10": ("CLEAR", "CLEAR"), "W11": ("SILENT", "CLEAR"), "W12": ("OK", "OK"),
    "W13": ("UNCLEAR", "CLEAR"), "W14": ("CLEAR", "CLEAR"), "W15": ("CLEAR", "CLEAR"), "W16": ("CLEAR", "CLEAR"),
    "W17": ("CLEAR", "CLEAR"), "W18": ("OK", "OK"), "W19": ("OK", "OK"), "W20": ("CLEAR", "CLEAR"),
    "W21": ("CLEAR", "CLEAR"), "W22": ("CLEAR", "CLEAR"), "W23": ("CLEAR", "CLEAR"), "W24": ("CLEAR", "CLEAR"),
    "W25": ("CLEAR", "CLEAR"), "W26": ("SILENT", "CLEAR"),
    "X1": ("CLEAR", "CLEAR"), "X2": ("CLEAR", "CLEAR"), "X3": ("CLEAR", "CLEAR"), "X4": ("CLEAR", "CLEAR"),
    "X5": ("OK", "OK"), "X6": ("CLEAR", "CLEAR"), "X7": ("CLEAR", "CLEAR"), "X8": ("CLEAR", "CLEAR"),
    "X9": ("CLEAR", "CLEAR"), "X10": ("CLEAR", "CLEAR"), "X11": ("CLEAR", "CLEAR"), "X12": ("UNCLEAR", "CLEAR"),
    "X13": ("CLEAR", "CLEAR"), "X14": ("SILENT", "CLEAR"), "X15": ("CLEAR", "CLEAR"), "X16": ("OK", "OK"),
    "X17": ("SILENT", "CLEAR"), "X18": ("CLEAR", "CLEAR"),
}

N = 2410  # parameters of evolab.models.mlp((64,)): 64*32 + 32 + 32*10 + 10


@pytest.fixture(scope="module")
def digits():
    return evolab.data.load_digits()


@pytest.fixture(scope="module")
def model(digits):
    """The review's MLP. Tests that load other weights into it check that a refused vector changed nothing."""
    keras.utils.set_random_seed(0)
    return evolab.models.mlp(digits.input_shape)


@pytest.fixture
def vector(model):
    """The model's current parameters (a fresh copy for each test)."""
    return evolab.get_parameters(model)


@pytest.fixture(scope="module")
def small_data(digits):
    """A few dozen digits: enough for one quick Keras training in the keras_objective probes."""
    (x, y), (x_val, y_val) = digits.train, digits.validation
    return (x[:64], y[:64]), (x_val[:32], y_val[:32])


def refused_and_unchanged(model, vector, message):
    """Asserts that set_parameters refuses ``vector`` with ``message`` and leaves the model's weights alone."""
    before = evolab.get_parameters(model)
    with pytest.raises(ValueError, match=message):
        evolab.set_parameters(model, vector)
    np.testing.assert_array_equal(evolab.get_parameters(model), before)


def unbuilt_sequential():
    return keras.Sequential([keras.layers.Dense(3)])  # no input shape: not built


def tiny_mlp(params):
    return es.build_mlp([{"units": 4}], (64,), 10)


# -- W: set_parameters, get_parameters, ParameterLayout ---------------------------------------------------------

def test_W1_short_vector_is_refused(model, vector):
    assert vector.size == N
    refused_and_unchanged(model, vector[:-1], r"Expected a parameter vector of length 2410; received length 2409\.")


def test_W2_long_vector_is_refused(model, vector):
    refused_and_unchanged(model, np.concatenate([vector, np.zeros(5, np.float32)]),
                          r"Expected a parameter vector of length 2410; received length 2415\.")


def test_W3_one_nan_is_refused(model, vector):
    vector[7] = np.nan
    refused_and_unchanged(model, vector, r"Expected finite values in the parameter vector; received 1 NaN or infinite")


def test_W4_one_positive_infinity_is_refused(model, vector):
    vector[-1] = np.inf
    refused_and_unchanged(model, vector, r"Expected finite values in the parameter vector; received 1 NaN or infinite")


def test_W5_string_array_is_refused(model):
    refused_and_unchanged(model, np.array(["1"] * N),
                          r"Expected a numeric \(float or integer\) parameter vector; received dtype <U1 \(ndarray\)")


def test_W6_list_holding_none_is_refused(model, vector):
    values = vector.tolist()
    values[3] = None
    refused_and_unchanged(model, values,
                          r"Expected a numeric \(float or integer\) parameter vector; received dtype object \(list\)")


def test_W7_two_dimensional_vector_is_refused_with_a_pointer_to_the_batch_api(model, vector):
    refused_and_unchanged(model, vector[None, :],
                          r"Expected a 1-D parameter vector of length 2410; received an array of shape \(1, 2410\)\. "
                          r"For a whole population use ParameterLayout\.unflatten_batch")


def test_W8_empty_list_is_refused(model):
    refused_and_unchanged(model, [], r"Expected a parameter vector of length 2410; received length 0\.")


def test_W9_bool_array_is_refused(model):
    refused_and_unchanged(model, np.ones(N, bool), r"numeric \(float or integer\) parameter vector; received dtype bool")


def test_W10_complex_array_is_refused(model, vector):
    refused_and_unchanged(model, vector.astype(np.complex128),
                          r"numeric \(float or integer\) parameter vector; received dtype complex128")


def test_W11_float64_value_overflowing_float32_is_refused(model, vector):
    vector = vector.astype(np.float64)
    vector[0] = 1e39  # finite in float64, infinite in float32
    refused_and_unchanged(model, vector, r"received 1 NaN or infinite value\(s\) as float32 .*too large for float32")


def test_W12_int64_vector_is_accepted_and_converted_exactly():
    keras.utils.set_random_seed(0)
    model = evolab.models.mlp((64,))
    vector = np.full(N, 2**40, np.int64)  # a power of two: exact in float32
    vector[1] = -3
    evolab.set_parameters(model, vector)
    loaded = evolab.get_parameters(model)
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, vector.astype(np.float64))
    assert loaded[0] == 2.0**40 and loaded[1] == -3.0


def test_W13_ragged_list_of_lists_is_refused_by_evolab(model, vector):
    ragged = [vector[:10].tolist(), vector[10:].tolist()]
    refused_and_unchanged(model, ragged, r"Expected a 1-D parameter vector of length 2410; received a ragged list")


def test_W14_none_instead_of_a_model_is_refused(vector):
    with pytest.raises(ValueError, match=r"Expected a Keras model; received None \(type NoneType\)"):
        evolab.set_parameters(None, vector)
    with pytest.raises(ValueError, match=r"Expected a Keras model; received None \(type NoneType\)"):
        evolab.get_parameters(None)


def test_W15_get_parameters_on_an_unbuilt_sequential_is_refused():
    with pytest.raises(ValueError, match=r"Model '.*' is not built yet.*model\.build\(input_shape\)"):
        evolab.get_parameters(unbuilt_sequential())


def test_W16_set_parameters_on_an_unbuilt_sequential_is_refused():
    with pytest.raises(ValueError, match=r"Model '.*' is not built yet.*keras\.Input\(shape=\.\.\.\)"):
        evolab.set_parameters(unbuilt_sequential(), np.zeros(3, np.float32))


def test_W17_layout_of_an_unbuilt_sequential_is_refused():
    with pytest.raises(ValueError, match=r"Model '.*' is not built yet, so it has no weights to flatten"):
        evolab.ParameterLayout.from_model(unbuilt_sequential())


def test_W18_batch_norm_statistics_stay_out_of_the_vector_and_untouched(digits):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(8), keras.layers.BatchNormalization(),
                              keras.layers.ReLU(), keras.layers.Dense(10)])
    norm = model.layers[1]
    rng = np.random.default_rng(0)
    norm.moving_mean.assign(rng.normal(size=8).astype(np.float32))  # statistics that differ from the defaults
    norm.moving_variance.assign(rng.uniform(0.5, 2.0, size=8).astype(np.float32))
    statistics = [keras.ops.convert_to_numpy(v.value).copy() for v in model.non_trainable_variables]

    # kernel and bias of both Dense layers, gamma and beta: the moving mean and variance are not in the vector
    assert evolab.count_parameters(model) == 64 * 8 + 8 + 8 + 8 + 8 * 10 + 10
    population = rng.normal(0.0, 0.3, size=(2, evolab.count_parameters(model))).astype(np.float32)
    evolab.set_parameters(model, population[0])
    np.testing.assert_array_equal(evolab.get_parameters(model), population[0])

    x, y = digits.validation
    scores = evolab.PopulationEvaluator(model, x, y, metric="accuracy")(population)
    for individual, score in zip(population, scores):  # each score is that individual's own accuracy
        evolab.set_parameters(model, individual)
        predicted = np.argmax(keras.ops.convert_to_numpy(model(x, training=False)), axis=1)
        assert score == pytest.approx(np.mean(predicted == y), abs=1e-6)
    for variable, before in zip(model.non_trainable_variables, statistics):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable.value), before)


def test_W19_a_frozen_layer_is_left_out_of_the_vector_and_untouched():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(8), keras.layers.Dense(10)])
    frozen = model.layers[0]
    frozen.trainable = False
    kernel = keras.ops.convert_to_numpy(frozen.kernel.value).copy()
    assert evolab.count_parameters(model) == 8 * 10 + 10
    evolab.set_parameters(model, np.ones(90, np.float32))
    np.testing.assert_array_equal(evolab.get_parameters(model), np.ones(90, np.float32))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(frozen.kernel.value), kernel)


def test_W20_a_fully_frozen_model_is_refused():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.trainable = False
    with pytest.raises(ValueError, match=r"Model '.*' has no trainable variables; there is nothing to evolve\."):
        evolab.get_parameters(model)
    with pytest.raises(ValueError, match="has no trainable variables"):
        evolab.set_parameters(model, np.zeros(15, np.float32))


def test_W21_flatten_with_the_wrong_number_of_arrays_is_refused(model, vector):
    layout = evolab.ParameterLayout.from_model(model)
    with pytest.raises(ValueError, match=r"Expected 4 arrays \(one per trainable variable\); received 1\."):
        layout.flatten([vector])


def test_W22_flatten_with_a_wrong_shape_is_refused(model):
    layout = evolab.ParameterLayout.from_model(model)
    arrays = [np.zeros(shape, np.float32) for shape in layout.shapes]
    arrays[0] = np.zeros((64, 31), np.float32)
    with pytest.raises(ValueError, match=re.escape(f"Variable {layout.names[0]!r}: expected shape (64, 32); "
                                                   "received (64, 31).")):
        layout.flatten(arrays)


def test_W23_unflatten_batch_of_a_single_vector_is_refused(model, vector):
    with pytest.raises(ValueError, match=r"Expected a population of shape \(population_size, 2410\); "
                                         r"received shape \(2410,\)\."):
        evolab.ParameterLayout.from_model(model).unflatten_batch(vector)


def test_W24_unflatten_batch_of_the_wrong_width_is_refused(model):
    with pytest.raises(ValueError, match=r"Expected a population of shape \(population_size, 2410\); "
                                         r"received shape \(2, 2411\)\."):
        evolab.ParameterLayout.from_model(model).unflatten_batch(np.zeros((2, 2411), np.float32))


def test_W25_unflatten_of_nan_is_refused(model):
    with pytest.raises(ValueError, match=r"Expected finite values in the parameter vector; received 2410 NaN"):
        evolab.ParameterLayout.from_model(model).unflatten(np.full(N, np.nan))


def test_W26_value_overflowing_a_float16_layer_is_refused():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(2, dtype="float16")])
    vector = evolab.get_parameters(model)
    vector[-1] = 1e5  # fine in float32, beyond float16's largest value (65504)
    refused_and_unchanged(model, vector, r"Expected values that fit float16 for variable '.*dense.*'; some become "
                                         r"infinite in that dtype\.")
    vector[-1] = 1000.0  # representable in float16: accepted
    evolab.set_parameters(model, vector)
    assert evolab.get_parameters(model)[-1] == 1000.0


# -- X: parallel backends (evolab/parallel.py) --------------------------------------------------------------------

def test_X1_process_map_with_zero_workers_is_refused():
    with pytest.raises(ValueError, match=r"n_workers must be a positive int; received 0"):
        ProcessMap(n_workers=0)


def test_X2_process_map_with_zero_tasks_per_child_is_refused():
    with pytest.raises(ValueError, match=r"max_tasks_per_child must be a positive int or None; received 0"):
        ProcessMap(n_workers=1, max_tasks_per_child=0)


def test_X3_dask_map_with_zero_workers_is_refused():
    pytest.importorskip("dask.distributed")
    from evolab.parallel import DaskMap

    with pytest.raises(ValueError, match=r"n_workers must be a positive int; received 0"):
        DaskMap(n_workers=0)


def test_X4_dask_map_at_an_address_where_nothing_listens_names_the_address():
    dask = pytest.importorskip("dask")
    pytest.importorskip("dask.distributed")
    from evolab.parallel import DaskMap

    started = time.monotonic()
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):  # Dask's default wait is 30 s
        with pytest.raises(OSError, match=r"Timed out trying to connect to tcp://127\.0\.0\.1:9 after 1 s"):
            DaskMap(address="tcp://127.0.0.1:9")
    assert time.monotonic() - started < 20


def test_X5_serial_map_passes_the_function_error_on():
    def inverse(x):
        return 1 / x

    with pytest.raises(ZeroDivisionError, match="division by zero"):
        SerialMap()(inverse, [1, 0, 2])
    first, error, last = SerialMap().map(inverse, [1, 0, 2], return_exceptions=True)
    assert (first, last) == (1.0, 0.5) and isinstance(error, ZeroDivisionError)


def test_X6_resolve_map_with_zero_workers_is_refused():
    with pytest.raises(ValueError, match=r"n_workers must be a positive int; received 0"):
        resolve_map(n_workers=0)


def test_X7_resolve_map_with_negative_workers_is_refused():
    with pytest.raises(ValueError, match=r"n_workers must be a positive int; received -2"):
        resolve_map(n_workers=-2)


# -- X: keras_objective and build_mlp (evolab/search/keras.py) ----------------------------------------------------

def test_X8_keras_objective_with_a_build_model_that_is_not_callable_is_refused(digits):
    with pytest.raises(ValueError, match=r"build_model must be callable as build_model\(params\) -> keras\.Model; "
                                         r"received 42"):
        es.keras_objective(42, digits)


def test_X9_keras_objective_with_zero_epochs_is_refused(digits):
    with pytest.raises(ValueError, match=r"epochs must be a positive int; received 0"):
        es.keras_objective(tiny_mlp, digits, epochs=0)


@pytest.mark.parametrize("form", ["pair", "dict"])
def test_X10_keras_objective_without_a_validation_split_is_refused(digits, form):
    data = (digits.train, None) if form == "pair" else {"train": digits.train, "validation": None}
    with pytest.raises(ValueError, match=r"data needs a validation split: searches score on validation, never on test"):
        es.keras_objective(tiny_mlp, data)


def test_X11_keras_objective_with_an_unknown_metric_is_refused(digits):
    with pytest.raises(ValueError, match=r"metric must be 'accuracy' or 'neg_loss'; received 'f1'"):
        es.keras_objective(tiny_mlp, digits, metric="f1")


def test_X12_a_string_learning_rate_in_params_is_named(small_data):
    objective = es.keras_objective(tiny_mlp, small_data, epochs=1)
    with pytest.raises(ValueError, match=r"params\['learning_rate'\] must be a positive number; received 'fast'"):
        objective({"learning_rate": "fast"})
    with pytest.raises(ValueError, match=r"params\['learning_rate'\] must be a positive number; received -0\.001"):
        objective({"learning_rate": -1e-3})


def test_X13_a_model_whose_input_does_not_fit_the_data_fails_every_trial_with_the_reason(small_data):
    def wrong_input(params):
        return es.build_mlp([{"units": params["units"]}], (63,), 10)  # the digits have 64 features

    objective = es.keras_objective(wrong_input, small_data, epochs=1)
    with pytest.raises(es.SearchFailedError, match=r"all 2 trials of random failed; the first errors were: "
                                                   r"ValueError: the model built from params takes examples of "
                                                   r"shape \(63,\), but the training data has \(64,\)"):
        es.random_search(objective, {"units": es.Integer(4, 8)}, n_trials=2, seed=0)


BAD_TRAINING_PARAMS = [("batch_size", 0), ("batch_size", 2.5), ("batch_size", "32"), ("epochs", 0), ("epochs", -1)]


def test_X14_a_batch_size_or_epochs_in_params_that_is_not_a_positive_whole_number_is_refused(small_data):
    objective = es.keras_objective(tiny_mlp, small_data, epochs=1)
    for name, value in BAD_TRAINING_PARAMS:
        with pytest.raises(ValueError, match=re.escape(f"params[{name!r}] must be a positive whole number; "
                                                       f"received {value!r}")):
            objective({name: value})
    # whole numbers of other types (what an Integer space or NumPy gives) still train and score
    score = objective({"batch_size": np.int64(16), "epochs": 1.0})
    assert 0.0 <= score <= 1.0


def test_X15_build_mlp_with_zero_units_is_refused():
    with pytest.raises(ValueError, match=r"invalid value for `units`, expected a positive integer\. Received: units=0"):
        es.build_mlp([{"units": 0}], (64,), 10)


# -- X: evolab.deap_tools -----------------------------------------------------------------------------------------

def test_X16_two_point_crossover_of_length_one_genomes_swaps_the_gene():
    first, second = np.array([0.0]), np.array([1.0])
    child1, child2 = evolab.deap_tools.cx_two_point(first, second)
    assert child1 is first and child2 is second  # in place, as DEAP expects
    np.testing.assert_array_equal(child1, [1.0])
    np.testing.assert_array_equal(child2, [0.0])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_X17_numpy_toolbox_with_a_non_finite_center_is_refused(bad):
    with pytest.raises(ValueError, match=r"Expected center to be a non-empty 1-D array of finite numbers; received "
                                         r"shape \(2,\) with NaN or infinite values"):
        evolab.deap_tools.numpy_toolbox(np.array([0.0, bad]))


def test_X18_batched_map_with_wrong_length_individuals_is_refused(model, digits, vector):
    batched = evolab.deap_tools.BatchedMap(evolab.PopulationEvaluator(model, *digits.validation))
    with pytest.raises(ValueError, match=r"Expected a population of shape \(population_size, 2410\); "
                                         r"received shape \(1, 10\)\."):
        batched(batched.evaluate, [np.zeros(10, np.float32)])
    with pytest.raises(ValueError, match=r"Expected individuals of one length .*; received shapes "
                                         r"\[\(10,\), \(2410,\)\] in one batch of 2\."):
        batched(batched.evaluate, [vector, np.zeros(10, np.float32)])
    assert batched.num_batches == 0
