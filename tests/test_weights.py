import keras
import numpy as np
import pytest

import evolab
from evolab.weights import ParameterLayout


def dense_sequential():
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="relu"), keras.layers.Dense(3)])


def functional():
    inputs = keras.Input((6,))
    left = keras.layers.Dense(4, activation="tanh")(inputs)
    right = keras.layers.Dense(3)(inputs)
    merged = keras.layers.Concatenate()([left, right])
    return keras.Model(inputs, keras.layers.Dense(2)(merged))


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(7, activation="relu")
        self.out = keras.layers.Dense(3)

    def call(self, x):
        return self.out(self.hidden(x))


def subclassed():
    model = Subclassed()
    model(np.zeros((1, 6), np.float32))
    return model


def conv_bn():
    return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.BatchNormalization(),
                             keras.layers.ReLU(), keras.layers.Flatten(), keras.layers.Dense(3)])


def embedding_lstm():
    return keras.Sequential([keras.Input((5,), dtype="int32"), keras.layers.Embedding(20, 4), keras.layers.LSTM(6),
                             keras.layers.Dense(2)])


def sample_input(model):
    shape = (4,) + tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else (4, 6)
    if getattr(model, "inputs", None) and "int" in str(model.inputs[0].dtype):
        return np.random.default_rng(1).integers(0, 20, shape).astype("int32")
    return np.random.default_rng(1).standard_normal(shape).astype("float32")


BUILDERS = [dense_sequential, functional, subclassed, conv_bn, embedding_lstm, evolab.models.seed_mlp,
            evolab.models.cnn]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_round_trip_makes_second_model_predict_exactly_like_first(build):
    first, second = build(), build()
    x = sample_input(first) if not isinstance(first, Subclassed) else sample_input(None)
    assert not np.array_equal(keras.ops.convert_to_numpy(first(x)), keras.ops.convert_to_numpy(second(x)))
    vector = evolab.get_parameters(first)
    assert vector.dtype == np.float32 and vector.ndim == 1
    assert vector.size == evolab.count_parameters(first) == sum(int(np.prod(v.shape)) for v in first.trainable_variables)
    evolab.set_parameters(second, vector)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(first(x)), keras.ops.convert_to_numpy(second(x)))
    np.testing.assert_array_equal(evolab.get_parameters(second), vector)


def test_mobilenet_round_trip():
    build = lambda: keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), alpha=0.35, classes=4)  # noqa: E731
    first, second = build(), build()
    x = np.random.default_rng(0).standard_normal((2, 32, 32, 3)).astype("float32")
    evolab.set_parameters(second, evolab.get_parameters(first))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(first(x, training=False)),
                                  keras.ops.convert_to_numpy(second(x, training=False)))


def test_vector_follows_trainable_variables_order():
    model = dense_sequential()
    vector = evolab.get_parameters(model)
    kernel = keras.ops.convert_to_numpy(model.trainable_variables[0])
    np.testing.assert_array_equal(vector[:kernel.size], kernel.reshape(-1))
    bias_offset = kernel.size
    np.testing.assert_array_equal(vector[bias_offset:bias_offset + 5],
                                  keras.ops.convert_to_numpy(model.trainable_variables[1]))


def test_batch_norm_statistics_are_not_in_the_vector_and_are_left_untouched():
    model = conv_bn()
    bn = model.layers[1]
    assert evolab.count_parameters(model) == sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    bn.moving_mean.assign(np.full(bn.moving_mean.shape, 0.25, np.float32))
    evolab.set_parameters(model, np.zeros(evolab.count_parameters(model), np.float32))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(bn.moving_mean), 0.25)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(bn.gamma), 0.0)


def test_set_parameters_accepts_lists_and_integers():
    model = dense_sequential()
    n = evolab.count_parameters(model)
    evolab.set_parameters(model, [1] * n)
    np.testing.assert_array_equal(evolab.get_parameters(model), np.ones(n, np.float32))


@pytest.mark.parametrize("bad,message", [
    (np.zeros(10, np.float32), "length 53; received length 10"),
    (np.zeros((1, 53), np.float32), "1-D parameter vector of length 53; received an array of shape \\(1, 53\\)"),
    (np.array(["a"] * 53), "numeric"),
    (np.array([True] * 53), "numeric"),
    (np.r_[np.zeros(52), np.nan], "1 NaN or infinite"),
    (np.r_[np.zeros(51), np.inf, -np.inf], "2 NaN or infinite"),
])
def test_bad_vectors_raise_value_error_naming_expected_and_received(bad, message):
    model = dense_sequential()
    assert evolab.count_parameters(model) == 53
    before = evolab.get_parameters(model)
    with pytest.raises(ValueError, match=message):
        evolab.set_parameters(model, bad)
    np.testing.assert_array_equal(evolab.get_parameters(model), before)  # nothing half-written


def test_unbuilt_model_gets_a_clear_error():
    model = keras.Sequential([keras.layers.Dense(3)])
    for call in (evolab.get_parameters, evolab.count_parameters, lambda m: evolab.set_parameters(m, np.zeros(3))):
        with pytest.raises(ValueError, match="not built.*input shape"):
            call(model)


def test_layout_describes_variables_and_round_trips():
    model = evolab.models.cnn()
    layout = ParameterLayout.from_model(model)
    assert layout.num_params == 11274
    assert layout.names[0].endswith("conv_0/kernel") and layout.shapes[0] == (5, 5, 1, 8)
    assert layout.offsets == tuple(np.cumsum((0,) + layout.sizes[:-1]))
    arrays = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    vector = layout.flatten(arrays)
    np.testing.assert_array_equal(vector, evolab.get_parameters(model))
    for original, restored in zip(arrays, layout.unflatten(vector)):
        np.testing.assert_array_equal(original, restored)
    with pytest.raises(ValueError, match="expected shape"):
        layout.flatten([a.T for a in arrays])
    with pytest.raises(ValueError, match="Expected 6 arrays"):
        layout.flatten(arrays[:2])


def test_unflatten_batch_stacks_each_variable():
    model = dense_sequential()
    layout = ParameterLayout.from_model(model)
    population = np.arange(3 * layout.num_params, dtype=np.float32).reshape(3, -1)
    stacked = [keras.ops.convert_to_numpy(t) for t in layout.unflatten_batch(population)]
    assert [s.shape for s in stacked] == [(3, 6, 5), (3, 5), (3, 5, 3), (3, 3)]
    for i in range(3):
        for single, batch in zip(layout.unflatten(population[i]), stacked):
            np.testing.assert_array_equal(single, batch[i])
    with pytest.raises(ValueError, match=r"\(population_size, 53\)"):
        layout.unflatten_batch(population[:, :10])
