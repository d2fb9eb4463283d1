import keras
import numpy as np
import pytest

import evolab


def test_seed_mlp_matches_the_seed_lesson():
    model = evolab.models.seed_mlp()
    assert evolab.count_parameters(model) == 101_770
    assert [layer.units for layer in model.layers] == [128, 10]
    out = model(np.zeros((2, 784), np.float32))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out).sum(axis=1), 1.0, rtol=1e-5)  # softmax


def test_small_mlp_and_cnn_sizes():
    assert evolab.count_parameters(evolab.models.mlp((64,), hidden_units=(32,))) == 2_410
    assert 10_000 <= evolab.count_parameters(evolab.models.cnn()) <= 30_000
    images = evolab.models.mlp((28, 28, 1), hidden_units=(16,))
    assert images(np.zeros((1, 28, 28, 1), np.float32)).shape == (1, 10)
    logits = evolab.models.mlp((4,), hidden_units=(), output_activation=None)
    assert evolab.count_parameters(logits) == 50


def test_build_by_name_and_errors():
    assert evolab.count_parameters(evolab.models.build("seed_mlp", (784,))) == 101_770
    with pytest.raises(ValueError, match="Unknown model 'resnet'"):
        evolab.models.build("resnet", (784,))
    with pytest.raises(ValueError, match="input_shape"):
        evolab.models.mlp(input_shape=(0,))
    with pytest.raises(ValueError, match="image input_shape"):
        evolab.models.cnn(input_shape=(784,))
    with pytest.raises(ValueError, match="hidden_units"):
        evolab.models.mlp((4,), hidden_units=(0,))
