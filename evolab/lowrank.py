"""Scoring a low-rank population without building the population's weights.

A member of :class:`evolab.strategies.LowRankES` differs from the center by
``s * A_i @ B_i.T`` (``s = sigma / sqrt(rank)``) in every weight matrix, so a
Dense layer's output for that member is::

    x @ (W + s A_i B_i^T) = x @ W + s (x @ A_i) @ B_i^T

The first term is shared wherever the members see the same input (the first
layer sees the same mini-batch for everyone, so ``x @ W`` is computed once
for the whole population); the second costs ``(m + n) * rank`` multiply-adds
per example instead of ``m * n``. Mirrored members share even the correction:
the ``-`` member of a pair only flips its sign. Biases get ordinary Gaussian
noise, ``b + sigma * e_i``. The Dense layers after the first see a different
input for every member anyway; there each pair's two kernels ``W +/- s A_j
B_j^T`` are built inside the pass (``m * n`` numbers per member, small beside
its activations) for one batched product, which reads the activations once
where the shared product plus a correction would read them twice.

A Conv2D layer is the same algebra over its kernel seen as a ``(kh * kw * cin)
x cout`` matrix (the strategy's factors have that shape): ``conv(x, W + s A
B^T) = conv(x, W) + s conv(x, A) B^T``, where ``conv(x, A)`` uses the ``rank``
columns of ``A`` as ``rank`` filters. Where every member sees the same input,
all members' ``A`` filters go through one convolution; deeper, each mirrored
pair's two inputs go through its own filters (``keras.ops.vectorized_map``; a
loop over pairs on PyTorch, whose ``vmap`` cannot map Keras's convolution).

Supported layers, in a chain (a ``Sequential`` model or a functional model
whose layers follow each other): ``InputLayer``, ``Dense`` and ``Conv2D``
(channels last, any activation, strides, padding and dilation, no groups),
``Flatten``, ``Reshape``, ``Activation``, ``ReLU``, ``Softmax``, ``Dropout``
(off, as at inference) and the 2-D pooling layers (``MaxPooling2D``,
``AveragePooling2D``, their global forms). Any other layer raises an error
naming it. :class:`evolab.PopulationEvaluator` calls :func:`plan` once and
:func:`pair_outputs` inside its compiled pass.

Introduced in 11_neuroevolution_at_hyperscale.ipynb.
"""

from __future__ import annotations

import math

import keras
from keras import ops

__all__ = ["plan", "pair_outputs", "kernel_numbers_per_pair", "table_rows", "SUPPORTED_LAYERS"]

SUPPORTED_LAYERS = ("InputLayer", "Dense", "Conv2D", "Flatten", "Reshape", "Activation", "ReLU", "Softmax", "Dropout",
                    "MaxPooling2D", "AveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling2D")
_POOLING = ("MaxPooling2D", "AveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling2D")


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
        elif kind == "Conv2D":
            if layer.data_format != "channels_last" or layer.groups != 1:
                raise ValueError(f"The low-rank evaluation supports Conv2D with data_format='channels_last' and "
                                 f"groups=1; layer {layer.name!r} has {layer.data_format!r} and groups={layer.groups}.")
            bias = index[id(layer.bias)] if layer.use_bias else None
            options = dict(strides=layer.strides, padding=layer.padding, dilation_rate=layer.dilation_rate)
            steps.append(("conv", index[id(layer.kernel)], bias, layer.activation, options))
        elif kind in ("Flatten", "Reshape"):
            steps.append(("reshape", tuple(int(d) for d in layer.output.shape[1:])))
        elif kind in ("Activation", "ReLU", "Softmax") + _POOLING:
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


def kernel_numbers_per_pair(steps, shapes):
    """Numbers of the kernels a pass builds per mirrored pair (the Dense layers after the first perturbed layer,
    both signs): to size the passes together with the activations."""
    perturbed, total = False, 0
    for step in steps:
        if step[0] == "dense" and perturbed:
            total += 2 * math.prod(shapes[step[1]])
        perturbed = perturbed or step[0] in ("dense", "conv")
    return total


def table_rows(table, offsets, n):
    """``table[o : o + n]`` for every offset ``o``: one ``(len(offsets), n)`` gather (the noise table's rows)."""
    return ops.take(table, ops.expand_dims(offsets, 1) + ops.expand_dims(ops.arange(n, dtype="int32"), 0), axis=0)


def _per_member(h, shared, function):
    """``function`` applied to ``h``: directly where it is shared, else with the (2, pairs, batch) axes folded."""
    if shared:
        return function(h)
    out = function(ops.reshape(h, (-1,) + tuple(h.shape[3:])))
    return ops.reshape(out, tuple(h.shape[:3]) + tuple(out.shape[1:]))


def _signs(ndim):
    """``[+1, -1]`` shaped to broadcast over a tensor of ``ndim`` axes whose first axis is the pair's sign."""
    return ops.reshape(ops.convert_to_tensor([1.0, -1.0]), (2,) + (1,) * (ndim - 1))


def _dense_correction(h, a, b):
    """``(h @ A_j) @ B_j^T`` for every pair ``j`` and a shared input ``h``: one per pair, shape ``(1, q, batch, n)``."""
    return ops.einsum("qbr,qnr->qbn", ops.einsum("bm,qmr->qbr", h, a), b)[None]


def _dense_own_kernels(h, kernel, noise):
    """``h_i @ (W +/- N_j)`` for inputs ``h`` of shape ``(2, q, batch, m)`` and every pair's kernel noise ``N_j``
    (``(q, m, n)``, already scaled): each pair's two kernels built (``q * m * n`` numbers, small beside the
    activations for the layers after the first), then one batched product that reads the inputs once, where the
    shared-kernel product plus a correction would read them twice."""
    return ops.matmul(h, kernel[None, None] + _signs(4) * noise[None])  # kernels (2, q, m, n)


def _kernel_noise(factor, kernel_shape, scale, sigma):
    """Every pair's perturbation of a Dense kernel, ``(q, m, n)``: ``scale * A_j B_j^T`` or ``sigma * E_j``."""
    if len(factor) == 1:
        return sigma * ops.reshape(factor[0], (int(factor[0].shape[0]),) + tuple(kernel_shape))
    return scale * ops.einsum("qmr,qnr->qmn", *factor)


def _dense_full_correction(h, noise):
    """``h @ E_j`` for every pair ``j``'s full noise ``E_j`` (``(q, m, n)``) and a shared input: ``(1, q, batch, n)``."""
    return ops.einsum("bm,qmn->qbn", h, noise)[None]


def _conv_per_pair(h, filters, shared, options):
    """``conv(h, F_j)`` with every pair ``j``'s own filters ``F_j`` (``filters``: ``(q, kh, kw, cin, c)``).

    Returns ``(1, q, batch, H', W', c)`` for a shared input, ``(2, q, batch, H', W', c)`` for the pairs' own inputs.
    """
    q, kh, kw, cin, c = (int(d) for d in filters.shape)
    if shared:  # every pair's filters in one convolution of the shared input
        out = ops.conv(h, ops.reshape(ops.transpose(filters, (1, 2, 3, 0, 4)), (kh, kw, cin, q * c)), **options)
        out = ops.reshape(out, tuple(out.shape[:3]) + (q, c))
        return ops.transpose(out, (3, 0, 1, 2, 4))[None]

    def one_pair(pair):  # the pair's two inputs, (2, batch, H, W, cin), through its own filters
        inputs, own = pair
        out = ops.conv(ops.reshape(inputs, (-1,) + tuple(inputs.shape[2:])), own, **options)
        return ops.reshape(out, (2, -1) + tuple(out.shape[1:]))

    pairs = (ops.moveaxis(h, 1, 0), filters)
    if keras.backend.backend() == "torch":  # torch.vmap cannot map Keras's convolution (memory-format queries)
        out = ops.stack([one_pair((pairs[0][j], filters[j])) for j in range(q)])
    else:
        out = ops.vectorized_map(one_pair, pairs)  # (q, 2, batch, H', W', c)
    return ops.moveaxis(out, 0, 1)


def _conv_correction(h, factor, shared, kernel_shape, options):
    """``conv(h, A_j) @ B_j^T`` (the ``rank`` columns of ``A_j`` used as filters), or ``conv(h, E_j)`` for full
    noise."""
    q = int(factor[0].shape[0])
    if len(factor) == 1:
        return _conv_per_pair(h, ops.reshape(factor[0], (q,) + tuple(kernel_shape)), shared, options)
    a, b = factor
    filters = ops.reshape(a, (q,) + tuple(kernel_shape[:3]) + (int(a.shape[-1]),))
    return ops.einsum("sqbhwr,qnr->sqbhwn", _conv_per_pair(h, filters, shared, options), b)


def pair_outputs(steps, center, factors, sigma, rank, x):
    """The model's outputs for every member of a chunk of mirrored pairs.

    Args:
        steps: from :func:`plan`.
        center: one tensor per trainable variable (the center's weights).
        factors: the chunk's factors, as in :class:`evolab.strategies.LowRankPopulation`
            (``(A, B)`` with shapes ``(q, m, rank)``, ``(q, n, rank)`` for a kernel, ``(E,)`` for a bias); a
            kernel may also get full noise, ``(E,)`` of shape ``(q, *kernel.shape)`` (OpenAI-ES's noise, scored
            the same way: the shared product once, each pair's correction ``x @ E_j`` once for both signs).
        sigma: the noise scale (a scalar tensor).
        rank: the rank (a Python int); `None` when every kernel gets full noise.
        x: the inputs, shape ``(batch, ...)``, the same for every member.

    Returns:
        A tensor of shape ``(2, q, batch, outputs)``: ``[0]`` the ``+`` members, ``[1]`` the ``-`` members.
    """
    scale = None if rank is None else sigma / math.sqrt(rank)
    h, shared = x, True  # shared: one (batch, ...) tensor for every member; else (2, q, batch, ...)
    for step in steps:
        if step[0] in ("dense", "conv"):
            kind, kernel, bias, activation = step[:4]
            factor, shape = factors[kernel], tuple(center[kernel].shape)
            if kind == "dense" and not shared:  # each member its own input: build the pairs' small kernels
                h = _dense_own_kernels(h, center[kernel], _kernel_noise(factor, shape, scale, sigma))
            else:  # the shared-kernel product (once, where the input is shared) plus every pair's correction
                if kind == "dense":
                    base = ops.matmul(h, center[kernel])
                    correction = _dense_correction(h, *factor) if len(factor) == 2 else _dense_full_correction(
                        h, ops.reshape(factor[0], (-1,) + shape))
                else:
                    base = _per_member(h, shared, lambda z: ops.conv(z, center[kernel], **step[4]))
                    correction = _conv_correction(h, factor, shared, shape, step[4])
                size = scale if len(factor) == 2 else sigma
                h = (base[None, None] if shared else base) + _signs(len(correction.shape)) * size * correction
            if bias is not None:
                noise = factors[bias][0]  # (q, n)
                noise = ops.reshape(noise, (1, noise.shape[0]) + (1,) * (len(h.shape) - 3) + (noise.shape[-1],))
                h = h + center[bias] + _signs(len(h.shape)) * sigma * noise
            h = activation(h)
            shared = False
        elif step[0] == "reshape":
            h = ops.reshape(h, (-1,) + step[1]) if shared else ops.reshape(h, tuple(h.shape[:3]) + step[1])
        else:
            h = _per_member(h, shared, step[1])
    if shared:
        raise ValueError("The model has no Dense or Conv2D layer: nothing for the low-rank evaluation to perturb.")
    return h
