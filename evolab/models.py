"""The networks the lessons evolve and train, built on creation.

Every builder takes an explicit ``input_shape`` so the model has its weights
at once (``evolab.count_parameters`` works straight away). An input with more
than one axis (images) is flattened first by MLPs.

Introduced in 00_welcome.ipynb (seed MLP) and 10_neuroevolution_at_scale.ipynb (CNN).
"""

from __future__ import annotations

import keras

__all__ = ["seed_mlp", "mlp", "cnn", "build"]


def _check_shape(input_shape):
    try:
        shape = tuple(int(d) for d in input_shape)
    except TypeError:
        raise ValueError(f"input_shape must be a tuple of positive integers; received {input_shape!r}") from None
    if not shape or any(d <= 0 for d in shape):
        raise ValueError(f"input_shape must be a tuple of positive integers; received {input_shape!r}")
    return shape


def mlp(input_shape=(784,), hidden_units=(32,), num_classes=10, activation="relu", output_activation="softmax",
        name="mlp"):
    """A multi-layer perceptron.

    Args:
        input_shape: shape of one example, e.g. ``(784,)`` or ``(28, 28, 1)`` (flattened first).
        hidden_units: width of each hidden layer, e.g. ``(128,)``; ``()`` gives logistic regression.
        num_classes: outputs.
        activation: hidden activation.
        output_activation: ``"softmax"`` (probabilities) or ``None``/``"linear"`` (logits);
            evolab's evaluators handle both.
        name: the model's name.

    Returns:
        A built ``keras.Sequential``.

    Example:
        >>> model = evolab.models.mlp((64,), hidden_units=(32,))   # 2,410 parameters, the digits MLP
    """
    shape = _check_shape(input_shape)
    layers = [keras.Input(shape=shape)]
    if len(shape) > 1:
        layers.append(keras.layers.Flatten())
    for i, units in enumerate(hidden_units):
        if int(units) <= 0:
            raise ValueError(f"hidden_units must be positive integers; received {tuple(hidden_units)!r}")
        layers.append(keras.layers.Dense(int(units), activation=activation, name=f"hidden_{i}"))
    layers.append(keras.layers.Dense(num_classes, activation=output_activation, name="output"))
    return keras.Sequential(layers, name=name)


def seed_mlp(input_shape=(784,), num_classes=10, output_activation="softmax"):
    """The seed lesson's 784-128-10 MLP (ReLU, softmax): 101,770 parameters.

    Example:
        >>> evolab.count_parameters(evolab.models.seed_mlp())
        101770
    """
    return mlp(input_shape, hidden_units=(128,), num_classes=num_classes, output_activation=output_activation,
               name="seed_mlp")


def cnn(input_shape=(28, 28, 1), num_classes=10, filters=(8, 16), kernel_size=5, output_activation="softmax",
        name="cnn"):
    """A small ConvNet in the spirit of EvoJAX's MNIST network (11,274 parameters for MNIST).

    Two 5x5 convolutions with ReLU, each followed by 2x2 max pooling, then a
    dense output layer. Small enough to evolve, strong enough for 98%+.

    Args:
        input_shape: ``(height, width, channels)``.
        num_classes: outputs.
        filters: the two convolutions' widths.
        kernel_size: the convolutions' window size.
        output_activation: ``"softmax"`` or ``None`` for logits.
        name: the model's name.

    Example:
        >>> evolab.count_parameters(evolab.models.cnn())
        11274
    """
    shape = _check_shape(input_shape)
    if len(shape) != 3:
        raise ValueError(f"cnn needs an image input_shape (height, width, channels); received {input_shape!r}")
    layers = [keras.Input(shape=shape)]
    for i, width in enumerate(filters):
        layers += [keras.layers.Conv2D(int(width), kernel_size, padding="same", activation="relu", name=f"conv_{i}"),
                   keras.layers.MaxPooling2D(2, name=f"pool_{i}")]
    layers += [keras.layers.Flatten(), keras.layers.Dense(num_classes, activation=output_activation, name="output")]
    return keras.Sequential(layers, name=name)


_BUILDERS = {"seed_mlp": seed_mlp, "mlp": mlp, "cnn": cnn}


def build(name, input_shape, num_classes=10, **kwargs):
    """Builds a model by name (``"seed_mlp"``, ``"mlp"`` or ``"cnn"``), as the CLI does.

    Raises:
        ValueError: for an unknown name.
    """
    if name not in _BUILDERS:
        raise ValueError(f"Unknown model {name!r}; expected one of {sorted(_BUILDERS)}.")
    return _BUILDERS[name](input_shape=input_shape, num_classes=num_classes, **kwargs)
