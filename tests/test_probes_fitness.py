"""The reliability review's probes E1-E32 (PopulationEvaluator) and K1-K10 (keras_fitness, evaluate_parameters),
kept as tests: one test per probe of the "Probe table" in ../shared/reviews/reliability.md.

Set-up as in the review: the digits data (validation split, 360 examples) and an MLP 64-32-10 with 2410 parameters.
A bad input must give an evolab error that says what was expected and what came; a valid edge input must give the
right result. ``OUTCOMES`` records, for each probe, the review's class and the class it has now.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
from keras import ops

import evolab

OUTCOMES = {
    "E1": ("CLEAR", "CLEAR"),
    "E2": ("CLEAR", "CLEAR"),
    "E3": ("SILENT", "CLEAR"),
    "E4": ("SILENT", "CLEAR"),
    "E5": ("SILENT", "CLEAR"),
    "E6": ("SILENT", "CLEAR"),
    "E7": ("UNCLEAR", "CLEAR"),
    "E8": ("CLEAR", "CLEAR"),
    "E9": ("CLEAR", "CLEAR"),
    "E10": ("CLEAR", "CLEAR"),
    "E11": ("SILENT", "CLEAR"),
    "E12": ("OK", "CLEAR"),  # a string batch_size is now refused, like every other count in evolab
    "E13": ("CLEAR", "CLEAR"),
    "E14": ("CLEAR", "CLEAR"),
    "E15": ("CLEAR", "CLEAR"),
    "E16": ("CLEAR", "CLEAR"),
    "E17": ("CLEAR", "CLEAR"),
    "E18": ("UNCLEAR", "CLEAR"),
    "E19": ("CLEAR", "CLEAR"),
    "E20": ("SILENT", "CLEAR"),
    "E21": ("CLEAR", "CLEAR"),
    "E22": ("CLEAR", "CLEAR"),
    "E23": ("UNCLEAR", "CLEAR"),
    "E24": ("UNCLEAR", "CLEAR"),
    "E25": ("UNCLEAR", "CLEAR"),
    "E26": ("SILENT", "CLEAR"),
    "E27": ("CLEAR", "CLEAR"),
    "E28": ("CLEAR", "CLEAR"),
    "E29": ("OK", "OK"),
    "E30": ("SILENT", "CLEAR"),
    "E31": ("CLEAR", "CLEAR"),
    "E32": ("OK", "OK"),
    "K1": ("CLEAR", "CLEAR"),
    "K2": ("CLEAR", "CLEAR"),
    "K3": ("CLEAR", "CLEAR"),
    "K4": ("CLEAR", "CLEAR"),
    "K5": ("UNCLEAR", "CLEAR"),
    "K6": ("SILENT", "CLEAR"),
    "K7": ("CLEAR", "CLEAR"),
    "K8": ("CLEAR", "CLEAR"),
    "K9": ("CLEAR", "CLEAR"),
    "K10": ("UNCLEAR", "CLEAR"),
}

NUM_PARAMS = 2410  # 64*32 + 32 + 32*10 + 10


@pytest.fixture(scope="module")
def data():
    """The digits validation split: (x, y), 360 examples of 64 pixels."""
    x, y = evolab.data.load_digits().validation
    assert x.shape == (360, 64)
    return x, y


@pytest.fixture(scope="module")
def model():
    evolab.set_seed(0)
    model = evolab.models.mlp((64,))
    assert evolab.count_parameters(model) == NUM_PARAMS
    return model


@pytest.fixture(scope="module")
def evaluator(model, data):
    """One evaluator for the probes about the population argument (they fail before anything is compiled)."""
    return evolab.PopulationEvaluator(model, *data)


@pytest.fixture(scope="module")
def population(model):
    return np.repeat(evolab.get_parameters(model)[None], 2, axis=0)


def unbuilt_model():
    return keras.Sequential([keras.layers.Dense(10)])


def numpy_accuracy(model, vector, x, y):
    """The plain reference: load the weights, call the model, compare argmax with the labels."""
    evolab.set_parameters(model, vector)
    return float(np.mean(ops.convert_to_numpy(model(x, training=False)).argmax(axis=1) == y))


# -- PopulationEvaluator: the data (E1-E7, E24-E26, E29, E30) ----------------------------------------------------

def test_E1_one_dimensional_x_is_refused(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"x must hold at least one example per row \(at least 2-D\); "
                                         r"received shape \(360,\)"):
        evolab.PopulationEvaluator(model, x[:, 0], y)


def test_E2_x_and_y_of_different_lengths_are_refused(model, data):
    x, y = data
    with pytest.raises(ValueError, match="x and y must hold the same number of examples; received 360 and 359"):
        evolab.PopulationEvaluator(model, x, y[:-1])


def test_E3_labels_equal_to_the_number_of_outputs_are_refused_under_neg_loss(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"labels in \[0, 10\).*received labels from 10 to 10"):
        evolab.PopulationEvaluator(model, x, np.full(len(y), 10), metric="neg_loss")


def test_E4_labels_out_of_range_are_refused_under_accuracy(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"labels in \[0, 10\).*received labels from 10 to 10"):
        evolab.PopulationEvaluator(model, x, np.full(len(y), 10), metric="accuracy")


def test_E5_negative_labels_are_refused(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"labels in \[0, 10\).*received labels from -1 to -1"):
        evolab.PopulationEvaluator(model, x, np.full(len(y), -1), metric="neg_loss")


def test_E6_fractional_float_labels_are_refused_not_truncated(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"Expected integer class labels in y; received floats that are not whole "
                                         rf"numbers \(e\.g\. {y[0] + 0.7}"):
        evolab.PopulationEvaluator(model, x, y + 0.7)


def test_E7_empty_data_is_refused(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"at least one example.*received shape \(0, 64\)"):
        evolab.PopulationEvaluator(model, x[:0], y[:0])


def test_E24_x_with_the_wrong_number_of_features_is_refused_at_construction(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"x has examples of shape \(63,\), but the model takes \(64,\)"):
        evolab.PopulationEvaluator(model, x[:, :63], y)


def test_E25_x_of_strings_is_refused(model, data):
    x, y = data
    with pytest.raises(ValueError, match="x must hold numbers; received dtype <U"):
        evolab.PopulationEvaluator(model, x.astype(str), y)


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_E26_x_holding_nan_or_inf_is_refused_with_the_example(model, data, bad_value):
    x, y = data
    x = x.copy()
    x[5, 3] = bad_value  # one pixel would make every individual's neg_loss NaN
    with pytest.raises(ValueError, match=r"x holds NaN or infinite values \(e\.g\. at example 5\)"):
        evolab.PopulationEvaluator(model, x, y, metric="neg_loss")


def test_E29_one_hot_labels_score_like_integer_labels(model, data, population):
    x, y = data
    from_integers = evolab.PopulationEvaluator(model, x, y)(population)
    from_one_hot = evolab.PopulationEvaluator(model, x, np.eye(10)[y])(population)
    np.testing.assert_array_equal(from_one_hot, from_integers)
    np.testing.assert_allclose(from_integers, numpy_accuracy(model, population[0], x, y), rtol=1e-6)


def test_E30_a_three_column_y_is_refused_not_argmaxed(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"one-hot rows of 10 columns \(the model's outputs\); "
                                         r"received shape \(360, 3\)"):
        evolab.PopulationEvaluator(model, x, np.zeros((len(y), 3)))


# -- PopulationEvaluator: batch_size, population_chunk, metric (E8-E12, E21-E23, E31, E32) ------------------------

def test_E8_batch_size_zero_is_refused(model, data):
    with pytest.raises(ValueError, match=r"batch_size must be None or an integer in \[1, 360\]; received 0"):
        evolab.PopulationEvaluator(model, *data, batch_size=0)


def test_E9_negative_batch_size_is_refused(model, data):
    with pytest.raises(ValueError, match=r"batch_size must be None or an integer in \[1, 360\]; received -1"):
        evolab.PopulationEvaluator(model, *data, batch_size=-1)


def test_E10_batch_size_larger_than_the_data_is_refused(model, data):
    with pytest.raises(ValueError, match=r"batch_size must be None or an integer in \[1, 360\]; received 1000000"):
        evolab.PopulationEvaluator(model, *data, batch_size=1_000_000)


def test_E11_fractional_batch_size_is_refused_not_rounded(model, data):
    with pytest.raises(ValueError, match=r"batch_size must be None or an integer in \[1, 360\]; received 2\.5"):
        evolab.PopulationEvaluator(model, *data, batch_size=2.5)


def test_E12_batch_size_given_as_a_string_is_refused(model, data):
    with pytest.raises(ValueError, match=r"batch_size must be None or an integer in \[1, 360\]; received '32'"):
        evolab.PopulationEvaluator(model, *data, batch_size="32")


@pytest.mark.parametrize("chunk", [0, -1, 2.5, "3"])
def test_E21_population_chunk_that_is_not_a_positive_integer_is_refused(model, data, chunk):
    with pytest.raises(ValueError, match=f"population_chunk must be a positive integer; received {chunk!r}"):
        evolab.PopulationEvaluator(model, *data, population_chunk=chunk)


def test_E22_unknown_metric_name_is_refused(model, data):
    with pytest.raises(ValueError, match="metric must be 'accuracy', 'neg_loss' or a callable; received 'bogus'"):
        evolab.PopulationEvaluator(model, *data, metric="bogus")


def test_E23_a_metric_returning_one_value_per_example_is_refused_at_construction(model, data):
    def per_example_probability(y_true, y_pred):  # forgot the mean
        return ops.sum(y_pred * ops.one_hot(y_true, 10), axis=-1)

    with pytest.raises(ValueError, match=r"per_example_probability\(y_true, y_pred\) must return one number .*"
                                         r"keras\.ops\.mean.*shape \(360,\)") as error:
        evolab.PopulationEvaluator(model, *data, metric=per_example_probability)
    assert "in user code" not in str(error.value)  # evolab's message, not wrapped in a TensorFlow traceback


def test_E31_population_chunk_true_is_refused(model, data):
    with pytest.raises(ValueError, match="population_chunk must be a positive integer; received True"):
        evolab.PopulationEvaluator(model, *data, population_chunk=True)


def test_E32_nan_from_a_metric_of_ones_own_is_passed_through(model, data, population):
    def always_nan(y_true, y_pred):
        return ops.mean(y_pred) * np.nan

    scores = evolab.PopulationEvaluator(model, *data, metric=always_nan)(population)
    assert scores.shape == (2,) and np.isnan(scores).all()  # documented: strategies count NaN as the worst score


# -- PopulationEvaluator: the population and the model (E13-E20, E27, E28) ----------------------------------------

def test_E13_one_dimensional_population_is_refused_with_a_hint(evaluator, population):
    with pytest.raises(ValueError, match=r"Expected a 2-D population of shape \(population_size, 2410\); received a "
                                         r"1-D array\. Wrap one individual as population\[None, :\]"):
        evaluator(population[0])


def test_E14_population_of_the_wrong_width_is_refused(evaluator, population):
    with pytest.raises(ValueError, match=r"shape \(population_size, 2410\); received shape \(2, 2409\)"):
        evaluator(population[:, :-1])


def test_E15_population_with_nan_is_refused(evaluator, population):
    bad = population.copy()
    bad[1, 7] = np.nan
    with pytest.raises(ValueError, match="Expected finite parameters; the population holds NaN or infinite values"):
        evaluator(bad)


def test_E16_population_with_inf_is_refused(evaluator, population):
    bad = population.copy()
    bad[0, 0] = -np.inf
    with pytest.raises(ValueError, match="Expected finite parameters; the population holds NaN or infinite values"):
        evaluator(bad)


def test_E17_three_dimensional_population_is_refused(evaluator, population):
    with pytest.raises(ValueError, match=r"shape \(population_size, 2410\); received shape \(1, 2, 2410\)"):
        evaluator(population[None])


def test_E18_empty_population_is_refused(evaluator):
    with pytest.raises(ValueError, match="population_size >= 1 individuals; received an empty one"):
        evaluator(np.zeros((0, NUM_PARAMS), np.float32))


def test_E19_population_of_strings_is_refused(evaluator):
    with pytest.raises(ValueError, match="Expected a numeric population array; received dtype <U1"):
        evaluator(np.full((2, NUM_PARAMS), "a"))


def test_E20_float64_value_overflowing_float32_is_refused(evaluator, population):
    bad = population.astype(np.float64)
    bad[1, 0] = 1e39  # finite in float64, inf in float32
    with pytest.raises(ValueError, match="NaN or infinite values as float32.*too large for float32"):
        evaluator(bad)


def test_E27_unbuilt_model_is_refused_with_how_to_build_it(data):
    with pytest.raises(ValueError, match=r"Model 'sequential.*' is not built yet.*model\.build\(input_shape\)"):
        evolab.PopulationEvaluator(unbuilt_model(), *data)


def test_E28_evaluate_one_with_the_wrong_length_is_refused(evaluator, population):
    with pytest.raises(ValueError, match="Expected a parameter vector of length 2410; received length 2408"):
        evaluator.evaluate_one(population[0, :-2])


# -- keras_fitness and evaluate_parameters (K1-K10) ----------------------------------------------------------------

def test_K1_keras_fitness_unknown_metric_name_is_refused(model, data):
    with pytest.raises(ValueError, match="metric must be 'accuracy', 'neg_loss' or a callable; received 'bogus'"):
        evolab.keras_fitness(model, *data, metric="bogus")


def test_K2_keras_fitness_short_individual_is_refused(model, data, population):
    evaluate = evolab.keras_fitness(model, *data)
    with pytest.raises(ValueError, match="Expected a parameter vector of length 2410; received length 2409"):
        evaluate(population[0, :-1])


def test_K3_keras_fitness_individual_with_nan_is_refused(model, data):
    evaluate = evolab.keras_fitness(model, *data)
    with pytest.raises(ValueError, match="Expected finite values in the parameter vector; received 2410 NaN"):
        evaluate(np.full(NUM_PARAMS, np.nan))


def test_K4_keras_fitness_x_and_y_mismatch_is_refused_before_the_first_call(model, data):
    x, y = data
    with pytest.raises(ValueError, match="x and y must hold the same number of examples; received 360 and 357"):
        evolab.keras_fitness(model, x, y[:357])


def test_K5_keras_fitness_empty_data_is_refused(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"at least one example.*received shape \(0, 64\)"):
        evolab.keras_fitness(model, x[:0], y[:0])


def test_K6_keras_fitness_labels_out_of_range_are_refused_under_neg_loss(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"labels in \[0, 10\).*received labels from 10 to 10"):
        evolab.keras_fitness(model, x, np.full(len(y), 10), metric="neg_loss")


def test_K7_keras_fitness_on_an_unbuilt_model_is_refused(data, population):
    evaluate = evolab.keras_fitness(unbuilt_model(), *data)
    with pytest.raises(ValueError, match=r"Model 'sequential.*' is not built yet.*model\.build\(input_shape\)"):
        evaluate(population[0])


def test_K8_keras_fitness_two_dimensional_individual_is_refused(model, data, population):
    evaluate = evolab.keras_fitness(model, *data)
    with pytest.raises(ValueError, match=r"Expected a 1-D parameter vector of length 2410; received an array of "
                                         r"shape \(1, 2410\)\. For a whole population use .*PopulationEvaluator"):
        evaluate(population[:1])


def test_K9_keras_fitness_x_with_the_wrong_number_of_features_is_refused_before_the_first_call(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"x has examples of shape \(60,\), but the model takes \(64,\)"):
        evolab.keras_fitness(model, x[:, :60], y)


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
def test_K10_evaluate_parameters_bad_batch_size_is_refused_and_the_model_is_untouched(model, data, population,
                                                                                       batch_size):
    before = evolab.get_parameters(model)
    with pytest.raises(ValueError, match=f"batch_size must be a positive integer; received {batch_size!r}"):
        evolab.evaluate_parameters(model, population[0] + 1.0, *data, batch_size=batch_size)
    np.testing.assert_array_equal(evolab.get_parameters(model), before)
    # a valid batch size that does not divide the 360 examples gives the plain accuracy
    assert evolab.evaluate_parameters(model, population[0], *data, batch_size=7) == pytest.approx(
        numpy_accuracy(model, population[0], *data), abs=1e-6)
