"""Scoring a low-rank population without building any member's weights.

A member of :class:`evolab.strategies.LowRankES` differs from the center by
``s * A_i @ B_i.T`` (``s = sigma / sqrt(rank)``) in every weight matrix, so a
Dense layer's output for that member is::

    x @ (W + s A_i B_i^T) = x @ W + s (x @ A_i) @ B_i^T

The first term is shared wherever the members see the same input (the first
layer sees the same mini-batch for everyone, so ``x @ W`` is computed once
for the whole population); the second costs ``(m + n) * rank`` multiply-adds
per example instead of ``m * n``. Mirrored members share even the correction:
the ``-`` member of a pair only flips its sign. Biases get ordinary Gaussian
noise, ``b + sigma * e_i``.

Supported layers: ``InputLayer``, ``Dense`` (any activation), ``Flatten``,
``Reshape``, ``Activation``, ``ReLU``, ``Softmax`` and ``Dropout`` (off, as at
inference), in a chain (a ``Sequential`` model or a functional model whose
layers follow each other). Convolutions are not supported yet: such a model
raises an error naming the layer. :class:`evolab.PopulationEvaluator` calls
:func:`plan` once and :func:`pair_outputs` inside its compiled pass.

Introduced in 10_neuroevolution_at_scale.ipynb.
"""

from __future__ import annotations

import math

import keras
from keras import ops

__all__ = ["plan", "pair_outputs", "SUPPORTED_LAYERS"]

SUPPORTED_LAYERS = ("InputLayer", "Dense", "Flatten", "Reshape", "Activation", "ReLU", "Softmax", "Dropout")


def _chain(model):
    """The model's layers in call order; refuses a model whose layers do not form a single chain."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if not isinstance(model, keras.Sequential):
        try:
            previous = model.inputs[0]
            for layer in layers:
                if layer.input is not previous:
                    raise ValueError(f"layer {layer.name!r} does not take the previous layer's output")
                previous = layer.output
        except (AttributeError, IndexError, ValueError) as error:
            raise ValueError(f"The low-rank evaluation needs a chain of layers (a Sequential model, or a functional "
                             f"one whose layers follow each other); {model.name!r} is not one ({error}).") from error
    return layers


def plan(model):
    """The steps of the low-rank forward pass: one tuple per layer, variables named by their index in the layout.

    Raises:
        ValueError: a layer that the low-rank evaluation does not support (it is named, with the supported list).
    """
    index = {id(variable): k for k, variable in enumerate(model.trainable_variables)}
    steps = []
    for layer in _chain(model):
        kind = type(layer).__name__
        if kind == "Dense":
            bias = index[id(layer.bias)] if layer.use_bias else None
            steps.append(("dense", index[id(layer.kernel)], bias, layer.activation))
        elif kind in ("Flatten", "Reshape"):
            steps.append(("reshape", tuple(int(d) for d in layer.output.shape[1:])))
        elif kind in ("Activation", "ReLU", "Softmax"):
            steps.append(("call", layer))
        elif kind == "Dropout":
            continue
        else:
            raise ValueError(f"The low-rank evaluation does not support layer {layer.name!r} ({kind}); it supports "
                             f"{', '.join(SUPPORTED_LAYERS)}. Use a full-rank strategy (e.g. strategy='pgpe') for "
                             "this model.")
        trainable = [v for v in layer.trainable_variables if id(v) not in (id(getattr(layer, "kernel", None)),
                                                                            id(getattr(layer, "bias", None)))]
        if trainable:
            raise ValueError(f"Layer {layer.name!r} has trainable variables the low-rank evaluation does not know.")
    return steps


def pair_outputs(steps, center, factors, sigma, rank, x):
    """The model's outputs for every member of a chunk of mirrored pairs.

    Args:
        steps: from :func:`plan`.
        center: one tensor per trainable variable (the center's weights).
        factors: the chunk's factors, as in :class:`evolab.strategies.LowRankPopulation`
            (``(A, B)`` with shapes ``(q, m, rank)``, ``(q, n, rank)`` for a kernel, ``(E,)`` for a bias).
        sigma: the noise scale (a scalar tensor).
        rank: the rank (a Python int).
        x: the inputs, shape ``(batch, ...)``, the same for every member.

    Returns:
        A tensor of shape ``(2, q, batch, outputs)``: ``[0]`` the ``+`` members, ``[1]`` the ``-`` members.
    """
    scale = sigma / math.sqrt(rank)
    signs = ops.reshape(ops.convert_to_tensor([1.0, -1.0]), (2, 1, 1, 1))
    h, shared = x, True  # shared: one (batch, ...) tensor for every member; else (2, q, batch, ...)
    for step in steps:
        if step[0] == "dense":
            _, kernel, bias, activation = step
            a, b = factors[kernel]
            if shared:  # x @ W once for the population; the correction once per pair, +/- for its two members
                base = ops.matmul(h, center[kernel])[None, None]
                correction = ops.einsum("qbr,qnr->qbn", ops.einsum("bm,qmr->qbr", h, a), b)[None]
            else:  # every member has its own input: one large matrix product for all of them, then the corrections
                base = ops.reshape(ops.matmul(ops.reshape(h, (-1, h.shape[-1])), center[kernel]),
                                   tuple(h.shape[:3]) + (-1,))
                correction = ops.einsum("sqbr,qnr->sqbn", ops.einsum("sqbm,qmr->sqbr", h, a), b)
            h = base + signs * scale * correction
            if bias is not None:
                h = h + center[bias] + signs * sigma * factors[bias][0][None, :, None, :]
            h = activation(h)
            shared = False
        elif step[0] == "reshape":
            h = ops.reshape(h, (-1,) + step[1]) if shared else ops.reshape(h, tuple(h.shape[:3]) + step[1])
        else:
            h = step[1](h)
    if shared:
        raise ValueError("The model has no Dense layer: nothing for the low-rank evaluation to perturb.")
    return h
