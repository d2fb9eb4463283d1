"""A Keras model's trainable weights as one flat vector, and back.

Evolutionary algorithms search over vectors; Keras stores a network as a list
of tensors (kernels, biases, ...). This module is the bridge, done once and
checked: every trainable variable in ``model.trainable_variables`` order, each
flattened in C order, concatenated into a 1-D ``float32`` array. Non-trainable
state (BatchNormalization's moving mean and variance, for instance) is not
part of the vector and is left untouched.

Introduced in 09_neuroevolution_the_hard_way.ipynb.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["ParameterLayout", "get_parameters", "set_parameters", "count_parameters"]


def _trainable_variables(model):
    if not hasattr(model, "trainable_variables"):
        raise ValueError(f"Expected a Keras model; received {model!r:.60} (type {type(model).__name__}).")
    variables = list(getattr(model, "trainable_variables", []) or [])
    built = getattr(model, "built", True)
    if not built or not variables:
        name = getattr(model, "name", type(model).__name__)
        if not built:
            raise ValueError(
                f"Model {name!r} is not built yet, so it has no weights to flatten. Build it first: give the "
                "first layer an input shape (keras.Input(shape=...)), call model.build(input_shape), or call "
                "the model once on a batch of data."
            )
        raise ValueError(f"Model {name!r} has no trainable variables; there is nothing to evolve.")
    return variables


def _as_vector(vector, expected_size: int, what: str = "parameter vector") -> np.ndarray:
    """Validates a 1-D numeric finite vector of the expected length; returns float32."""
    try:
        array = np.asarray(vector)
    except ValueError:  # nested sequences of different lengths, such as [[1.0, 2.0], [3.0]]
        raise ValueError(f"Expected a 1-D {what} of length {expected_size}; received a ragged "
                         f"{type(vector).__name__} (nested sequences of different lengths).") from None
    if array.dtype.kind not in "fiu":
        raise ValueError(
            f"Expected a numeric (float or integer) {what}; received dtype {array.dtype} "
            f"({type(vector).__name__})."
        )
    if array.ndim != 1:
        raise ValueError(
            f"Expected a 1-D {what} of length {expected_size}; received an array of shape {array.shape}. "
            "For a whole population use ParameterLayout.unflatten_batch or evolab.PopulationEvaluator."
        )
    if array.shape[0] != expected_size:
        raise ValueError(f"Expected a {what} of length {expected_size}; received length {array.shape[0]}.")
    with np.errstate(over="ignore"):  # checked after the cast: a float64 1e39 is inf in float32
        vector32 = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(vector32)):
        bad = int(np.size(vector32) - np.count_nonzero(np.isfinite(vector32)))
        raise ValueError(f"Expected finite values in the {what}; received {bad} NaN or infinite value(s) as float32 "
                         "(a value too large for float32, beyond 3.4e38, becomes infinite).")
    return vector32


@dataclass(frozen=True)
class ParameterLayout:
    """Where each trainable variable lives inside the flat parameter vector.

    Attributes:
        names: each variable's path (e.g. ``"dense/kernel"``).
        shapes: each variable's shape.
        offsets: where each variable starts in the vector.
        sizes: how many numbers each variable holds.
        dtypes: each variable's dtype name (the vector itself is float32).

    Example:
        >>> layout = evolab.ParameterLayout.from_model(model)
        >>> layout.num_params, layout.names[0]
        (101770, 'dense/kernel')
    """

    names: tuple
    shapes: tuple
    offsets: tuple
    sizes: tuple
    dtypes: tuple

    @classmethod
    def from_model(cls, model) -> "ParameterLayout":
        """Reads the layout of ``model.trainable_variables`` (the model must be built)."""
        return cls._from_variables(_trainable_variables(model))

    @classmethod
    def _from_variables(cls, variables) -> "ParameterLayout":
        shapes = tuple(tuple(int(d) for d in v.shape) for v in variables)
        sizes = tuple(math.prod(s) for s in shapes)
        offsets = tuple(int(o) for o in np.cumsum((0,) + sizes[:-1]))
        names = tuple(getattr(v, "path", None) or v.name for v in variables)
        dtypes = tuple(str(getattr(v.dtype, "name", v.dtype)) for v in variables)
        return cls(names, shapes, offsets, sizes, dtypes)

    @property
    def num_params(self) -> int:
        """The length of the flat vector."""
        return int(sum(self.sizes))

    def flatten(self, arrays) -> np.ndarray:
        """Concatenates one array per variable into a 1-D float32 vector.

        Raises:
            ValueError: when the number of arrays or any shape does not match.
        """
        arrays = list(arrays)
        if len(arrays) != len(self.shapes):
            raise ValueError(f"Expected {len(self.shapes)} arrays (one per trainable variable); received {len(arrays)}.")
        parts = []
        for name, shape, array in zip(self.names, self.shapes, arrays):
            array = np.asarray(array)
            if tuple(array.shape) != shape:
                raise ValueError(f"Variable {name!r}: expected shape {shape}; received {tuple(array.shape)}.")
            parts.append(array.reshape(-1).astype(np.float32, copy=False))
        return np.concatenate(parts) if parts else np.zeros((0,), np.float32)

    def unflatten(self, vector) -> list:
        """Splits a 1-D vector into NumPy arrays shaped like the variables.

        Raises:
            ValueError: for a wrong length, a 2-D input, a non-numeric dtype or NaN/inf.
        """
        vector = _as_vector(vector, self.num_params)
        return [vector[o:o + n].reshape(s) for o, n, s in zip(self.offsets, self.sizes, self.shapes)]

    def unflatten_batch(self, population) -> list:
        """Splits a ``(population_size, num_params)`` array into stacked tensors.

        Works on NumPy arrays and on backend tensors (inside a compiled
        function), using ``keras.ops`` so every backend can trace it.

        Returns:
            A list with one tensor per variable, shaped ``(population_size, *shape)``.

        Raises:
            ValueError: when the second dimension is not ``num_params``.
        """
        from keras import ops

        if not hasattr(population, "shape"):  # a list of vectors
            population = np.asarray(population, dtype=np.float32)
        shape = tuple(population.shape)
        if len(shape) != 2 or (shape[1] is not None and int(shape[1]) != self.num_params):
            raise ValueError(
                f"Expected a population of shape (population_size, {self.num_params}); received shape {shape}."
            )
        return [
            ops.reshape(population[:, o:o + n], (-1,) + s)
            for o, n, s in zip(self.offsets, self.sizes, self.shapes)
        ]


def count_parameters(model) -> int:
    """The number of trainable parameters, i.e. the length of the vector evolution searches.

    Example:
        >>> evolab.count_parameters(evolab.models.seed_mlp())
        101770
    """
    return ParameterLayout.from_model(model).num_params


def get_parameters(model) -> np.ndarray:
    """Returns the model's trainable weights as one 1-D float32 vector.

    Args:
        model: a built Keras 3 model (Sequential, functional or subclassed).

    Returns:
        ``np.ndarray`` of shape ``(count_parameters(model),)``, dtype float32,
        in ``model.trainable_variables`` order.

    Raises:
        ValueError: when the model is not built.

    Example:
        >>> vector = evolab.get_parameters(model)
    """
    from keras import ops

    variables = _trainable_variables(model)
    return np.concatenate([ops.convert_to_numpy(v.value).astype(np.float32).reshape(-1) for v in variables])


def set_parameters(model, vector) -> None:
    """Loads a flat vector into the model's trainable weights (in place).

    The seed lesson's ``set_parameters(individual)`` done right: any Keras 3
    model, any layer types, the length checked, and non-trainable state
    (e.g. BatchNormalization statistics) left alone.

    Args:
        model: a built Keras 3 model.
        vector: a 1-D sequence of numbers of length ``count_parameters(model)``
            (a NumPy array, a list, or a DEAP individual).

    Raises:
        ValueError: for a wrong length, a 2-D input, a non-numeric dtype,
            NaN or infinite values, or an unbuilt model.

    Example:
        >>> evolab.set_parameters(model, evolab.get_parameters(other_model))
    """
    variables = _trainable_variables(model)
    layout = ParameterLayout._from_variables(variables)
    with np.errstate(over="ignore"):
        values = [value.astype(dtype, copy=False) for value, dtype in zip(layout.unflatten(vector), layout.dtypes)]
    for variable, value in zip(variables, values):  # all checked before any is assigned
        if not np.all(np.isfinite(value)):  # e.g. 1e5 in a float16 layer
            raise ValueError(f"Expected values that fit {value.dtype} for variable {variable.path!r}; some become "
                             "infinite in that dtype.")
    for variable, value in zip(variables, values):
        variable.assign(value)
