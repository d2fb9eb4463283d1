import keras
import numpy as np
import pytest

import evolab
from evolab.fitness import PopulationEvaluator, evaluate_parameters, keras_fitness, outputs_logits


@pytest.fixture(scope="module")
def digits():
    return evolab.data.load_digits()


def perturbed_population(model, size, scale=0.3, seed=0):
    base = evolab.get_parameters(model)
    noise = np.random.default_rng(seed).standard_normal((size, base.size)).astype(np.float32)
    return base + scale * noise


def reference_scores(model, population, x, y, metric):
    """The plain way: set each individual's weights, call the model, compute the metric in NumPy."""
    scores = []
    for individual in population:
        evolab.set_parameters(model, individual)
        out = keras.ops.convert_to_numpy(model(x, training=False)).astype(np.float64)
        if metric == "accuracy":
            scores.append(np.mean(out.argmax(1) == y))
        else:
            if outputs_logits(model):
                out = out - out.max(1, keepdims=True)
                log_probs = out - np.log(np.exp(out).sum(1, keepdims=True))
            else:
                log_probs = np.log(np.clip(out, 1e-7, 1))
            scores.append(np.mean(log_probs[np.arange(len(y)), y]))
    return np.array(scores)


@pytest.mark.parametrize("metric", ["accuracy", "neg_loss"])
@pytest.mark.parametrize("output_activation", ["softmax", None])
def test_population_matches_individual_evaluation_mlp(digits, metric, output_activation):
    model = evolab.models.mlp(digits.input_shape, output_activation=output_activation)
    x, y = digits.validation
    population = perturbed_population(model, 12)
    scores = PopulationEvaluator(model, x, y, metric=metric)(population)
    assert scores.shape == (12,) and scores.dtype == np.float32
    np.testing.assert_allclose(scores, reference_scores(model, population, x, y, metric), rtol=1e-4, atol=1e-5)
    assert np.ptp(scores) > 0  # the individuals really differ
    single = keras_fitness(model, x, y, metric)
    singles = np.array([single(ind)[0] for ind in population])
    np.testing.assert_allclose(scores, singles, rtol=1e-4, atol=1e-5)
    assert isinstance(single(population[0]), tuple) and len(single(population[0])) == 1


def test_population_matches_individual_evaluation_cnn():
    data = evolab.data.load_digits(flatten=False)
    model = evolab.models.cnn(data.input_shape, filters=(4, 8), kernel_size=3)
    x, y = data.validation
    population = perturbed_population(model, 6)
    for metric in ("accuracy", "neg_loss"):
        scores = PopulationEvaluator(model, x, y, metric=metric)(population)
        np.testing.assert_allclose(scores, reference_scores(model, population, x, y, metric), rtol=1e-4, atol=1e-5)


def test_chunking_and_padding_do_not_change_scores(digits):
    model = evolab.models.mlp(digits.input_shape)
    x, y = digits.validation
    population = perturbed_population(model, 10)
    whole = PopulationEvaluator(model, x, y, metric="neg_loss")(population)
    chunked = PopulationEvaluator(model, x, y, metric="neg_loss", population_chunk=4, data_chunk=50)
    np.testing.assert_allclose(chunked(population), whole, rtol=1e-5)
    assert chunked.population_chunk == 4 and chunked.data_chunk == 50
    np.testing.assert_allclose(chunked(population[:3]), whole[:3], rtol=1e-5)  # a smaller population is padded
    assert chunked.num_evaluations == 13


def test_model_weights_are_not_changed(digits):
    model = evolab.models.mlp(digits.input_shape)
    before = evolab.get_parameters(model)
    PopulationEvaluator(model, *digits.validation)(perturbed_population(model, 4))
    np.testing.assert_array_equal(evolab.get_parameters(model), before)


def test_fresh_mini_batch_each_call_is_seeded(digits):
    model = evolab.models.mlp(digits.input_shape)
    population = perturbed_population(model, 4, scale=1.0)
    first = PopulationEvaluator(model, *digits.train, batch_size=64, seed=3)
    second = PopulationEvaluator(model, *digits.train, batch_size=64, seed=3)
    a1, a2 = first(population), first(population)
    assert not np.array_equal(a1, a2)  # a new batch on the second call
    np.testing.assert_array_equal(second(population), a1)
    np.testing.assert_array_equal(second(population), a2)
    # scores are accuracies on 64 examples: multiples of 1/64
    np.testing.assert_allclose(a1 * 64, np.round(a1 * 64), atol=1e-4)


def test_callable_metric_and_one_hot_labels(digits):
    model = evolab.models.mlp(digits.input_shape)
    x, y = digits.validation

    def mean_true_class_probability(y_true, y_pred):
        return keras.ops.mean(keras.ops.sum(y_pred * keras.ops.one_hot(y_true, 10), axis=-1))

    population = perturbed_population(model, 5)
    scores = PopulationEvaluator(model, x, np.eye(10)[y], metric=mean_true_class_probability)(population)
    expected = []
    for individual in population:
        evolab.set_parameters(model, individual)
        expected.append(keras.ops.convert_to_numpy(model(x))[np.arange(len(y)), y].mean())
    np.testing.assert_allclose(scores, expected, rtol=1e-5)


def test_a_metric_giving_one_value_per_example_is_refused_by_name(digits):
    model = evolab.models.mlp(digits.input_shape)
    x, y = digits.validation

    def per_example_probability(y_true, y_pred):  # forgot the mean: one value per example
        return keras.ops.sum(y_pred * keras.ops.one_hot(y_true, 10), axis=-1)

    population = perturbed_population(model, 3)
    with pytest.raises(ValueError, match=rf"per_example_probability.*one number.*\({len(x)},?\)"):
        PopulationEvaluator(model, x, y, metric=per_example_probability)(population)
    with pytest.raises(ValueError, match="per_example_probability.*one number"):
        evaluate_parameters(model, population[0], x, y, metric=per_example_probability)
    one_by_one = PopulationEvaluator(model, x, y, metric=lambda t, p: keras.ops.reshape(
        keras.ops.mean(keras.ops.cast(keras.ops.argmax(p, axis=-1) == t, "float32")), (1, 1)))
    np.testing.assert_allclose(one_by_one(population), PopulationEvaluator(model, x, y)(population), atol=1e-6)


def test_evaluate_parameters_and_logit_detection(digits):
    model = evolab.models.mlp(digits.input_shape)
    vector = evolab.get_parameters(model)
    accuracy = evaluate_parameters(model, vector, *digits.validation)
    assert accuracy == pytest.approx(reference_scores(model, vector[None], *digits.validation, "accuracy")[0])
    assert outputs_logits(evolab.models.mlp((4,), output_activation=None))
    assert not outputs_logits(evolab.models.mlp((4,)))
    compiled = evolab.models.mlp((4,), output_activation=None)
    compiled.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=False))
    assert not outputs_logits(compiled)


def test_bad_inputs_raise_clear_errors(digits):
    model = evolab.models.mlp(digits.input_shape)
    x, y = digits.validation
    evaluator = PopulationEvaluator(model, x, y)
    n = evolab.count_parameters(model)
    with pytest.raises(ValueError, match=f"\\(population_size, {n}\\); received shape \\(3, 5\\)"):
        evaluator(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="received a 1-D array"):
        evaluator(np.zeros(n))
    with pytest.raises(ValueError, match="NaN or infinite"):
        evaluator(np.full((2, n), np.nan))
    with pytest.raises(ValueError, match="numeric"):
        evaluator(np.array([["a"] * n]))
    with pytest.raises(ValueError, match="same number of examples"):
        PopulationEvaluator(model, x, y[:-1])
    with pytest.raises(ValueError, match="batch_size"):
        PopulationEvaluator(model, x, y, batch_size=10**6)
    with pytest.raises(ValueError, match="metric must be"):
        PopulationEvaluator(model, x, y, metric="f1")
    with pytest.raises(ValueError, match="metric must be"):
        keras_fitness(model, x, y, metric="f1")


def test_accuracy_breaks_ties_like_argmax():
    """Equal outputs (all weights zero) must count as predicting class 0, exactly as argmax does."""
    data = evolab.data.load_digits()
    model = evolab.models.mlp(data.input_shape)
    zeros = np.zeros((2, evolab.count_parameters(model)), np.float32)
    scores = PopulationEvaluator(model, *data.validation)(zeros)
    np.testing.assert_allclose(scores, np.mean(data.validation[1] == 0), rtol=1e-6)


def test_a_first_small_call_does_not_pin_later_calls_to_small_chunks(digits):
    model = evolab.models.mlp(digits.input_shape)
    evaluator = PopulationEvaluator(model, *digits.validation, population_chunk=8)
    population = perturbed_population(model, 8)
    single = evaluator.evaluate_one(population[0])
    assert evaluator._chunk_in_use == 1
    scores = evaluator(population)
    assert evaluator._chunk_in_use == 8  # grew once to the configured chunk
    assert single == pytest.approx(scores[0], abs=1e-6)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="a TensorFlow warning")
def test_several_evaluators_in_a_row_do_not_warn_about_retracing(digits):
    import logging

    model = evolab.models.mlp(digits.input_shape)
    x, y = digits.train
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        population = np.random.default_rng(0).normal(0, 0.1, (4, evolab.count_parameters(model))).astype("float32")
        for _ in range(8):  # each evaluator traces once; TensorFlow would count them all against one function
            PopulationEvaluator(model, x[:32], y[:32])(population)
    finally:
        logger.removeHandler(handler)
    assert not [m for m in messages if "retracing" in m]


@pytest.mark.parametrize("chunk", [0, -5, 2.5, "50", True])
def test_a_data_chunk_that_is_not_a_positive_integer_is_refused(digits, chunk):
    model = evolab.models.mlp(digits.input_shape)
    with pytest.raises(ValueError, match=f"data_chunk must be a positive integer; received {chunk!r}"):
        PopulationEvaluator(model, *digits.validation, batch_size=None, data_chunk=chunk)
