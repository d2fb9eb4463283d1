"""Low-rank evolution strategy: each member perturbs a weight matrix by a rank-r product.

Credit: the idea and its analysis are EGGROLL, "Evolution Strategies at the
Hyperscale" (Sarkar et al., arXiv:2511.16652, 2025). This is evolab's own
implementation, written for teaching.

Introduced in 11_neuroevolution_at_hyperscale.ipynb.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from .._checks import check_choice, check_int, check_positive
from .base import Strategy
from .optimizers import get_optimizer
from .schedules import Scheduled, check_schedule
from .shaping import FITNESS_SHAPINGS

__all__ = ["LowRankES", "LowRankPopulation", "sample_factors", "low_rank_gradient"]


def _stream(*words):
    """A 31-bit seed for one stream of noise, a pure function of the words (seed, variable, kind)."""
    return int(np.random.SeedSequence([int(w) for w in words]).generate_state(1)[0] >> 1)


def _noise(kind, shape, stream, generation):
    """Standard-normal (``kind="normal"``) or uniform [0, 1) noise of one stream at one generation.

    A stateless draw: a pure function of ``(stream, generation)``. On JAX and
    TensorFlow ``generation`` may be a traced integer tensor, so a compiled
    generation draws its own noise on the device (``keras.random`` takes a
    tensor seed on JAX only, so TensorFlow calls the stateless op that
    ``keras.random`` calls underneath). PyTorch draws eagerly from an int seed.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        seed = tf.stack([tf.constant(stream, tf.int32), tf.cast(generation, tf.int32)])
        draw = tf.random.stateless_normal if kind == "normal" else tf.random.stateless_uniform
        return draw(shape, seed=seed, alg="philox")
    draw = keras.random.normal if kind == "normal" else keras.random.uniform
    if backend == "jax":
        import jax.numpy as jnp

        return draw(shape, seed=jnp.stack([jnp.uint32(stream), jnp.asarray(generation, jnp.uint32)]))
    return draw(shape, seed=_stream(stream, int(generation)))


def sample_factors(shapes, rank, half, noise_seed, generation):
    """One generation's factors, as :class:`LowRankPopulation` holds them: ``(A, B)`` for a matrix, ``(E,)`` else."""
    factors = []
    for k, shape in enumerate(shapes):
        if len(shape) >= 2:
            m, n = math.prod(shape[:-1]), shape[-1]
            factors.append((_noise("normal", (half, m, rank), _stream(noise_seed, k, 0), generation),
                            _noise("normal", (half, n, rank), _stream(noise_seed, k, 1), generation)))
        else:
            factors.append((_noise("normal", (half, *shape), _stream(noise_seed, k, 2), generation),))
    return factors


def low_rank_gradient(factors, differences, rank, scale):
    """``scale * sum_j d_j A_j B_j^T / sqrt(rank)`` (and ``scale * sum_j d_j E_j``) per variable, as one flat tensor.

    ``differences`` holds ``u_plus - u_minus`` for each mirrored pair; each matrix part is one
    ``(m, pairs * rank) @ (pairs * rank, n)`` product.
    """
    parts = []
    for factor in factors:
        if len(factor) == 2:
            a, b = factor
            part = ops.einsum("pmr,pnr->mn", a * differences[:, None, None], b) / math.sqrt(rank)
        else:
            part = ops.tensordot(differences, factor[0], axes=1)
        parts.append(ops.reshape(part, (-1,)))
    return ops.concatenate(parts) * scale


class LowRankPopulation:
    """One generation of :class:`LowRankES`, kept as factors instead of a dense array.

    Member ``i`` of the first half (``j = i``) and its mirror ``i = j + half``
    are, for every weight matrix ``W`` (a variable with two or more axes, seen
    as ``prod(shape[:-1]) x shape[-1]``) and every other variable ``v``::

        W_i = W +/- sigma / sqrt(rank) * A[j] @ B[j].T      A[j]: (m, rank), B[j]: (n, rank)
        v_i = v +/- sigma * E[j]                             E[j]: v's shape

    ``factors[k]`` is ``(A, B)`` (shapes ``(half, m, rank)`` and ``(half, n,
    rank)``) for a matrix and ``(E,)`` (shape ``(half, *shape)``) otherwise,
    as backend tensors. Nothing of shape ``(population_size, num_params)`` is
    built unless asked for: :meth:`member` materializes one member's flat
    parameters, :meth:`dense` (or ``np.asarray(population)``) all of them.
    """

    def __init__(self, center, factors, shapes, sigma, rank):
        self.center, self.factors, self.shapes = center, factors, tuple(tuple(s) for s in shapes)
        self.sigma, self.rank = float(sigma), int(rank)
        self.half = int(factors[0][0].shape[0])
        self.population_size = 2 * self.half

    @property
    def shape(self):
        return (self.population_size, int(self.center.size))

    def __len__(self):
        return self.population_size

    def _offset(self, index):
        """The flat perturbation of member ``index`` (float32, NumPy)."""
        from keras import ops

        pair, sign = index % self.half, (1.0 if index < self.half else -1.0)
        parts = []
        for shape, factor in zip(self.shapes, self.factors):
            if len(factor) == 2:
                a, b = (ops.convert_to_numpy(f[pair]) for f in factor)
                parts.append((a @ b.T).reshape(-1) * (self.sigma / math.sqrt(self.rank)))
            else:
                parts.append(ops.convert_to_numpy(factor[0][pair]).reshape(-1) * self.sigma)
        return (sign * np.concatenate(parts)).astype(np.float32)

    def member(self, index):
        """Member ``index``'s flat parameters: ``center`` plus its perturbation (a float32 array)."""
        if not 0 <= index < self.population_size:
            raise IndexError(f"Expected a member index in [0, {self.population_size}), received {index}.")
        return self.center + self._offset(index)

    def dense(self):
        """Every member as one ``(population_size, num_params)`` float32 array (for small populations)."""
        return np.stack([self.member(i) for i in range(self.population_size)])

    def __array__(self, dtype=None, copy=None):
        dense = self.dense()
        return dense if dtype is None else dense.astype(dtype)


class LowRankES(Scheduled, Strategy):
    """An evolution strategy whose members differ from the center by low-rank matrices (EGGROLL).

    OpenAI-ES perturbs all ``m * n`` weights of a matrix independently, so a
    population of ``p`` networks is ``p`` full sets of weights, and evaluating
    it costs ``p`` full forward passes. Here each member perturbs a matrix by
    ``sigma / sqrt(rank) * A @ B.T`` with Gaussian ``A`` (m x rank) and ``B``
    (n x rank), so its forward pass is the shared product plus a cheap
    correction, ``x @ W + s (x @ A) @ B.T``, which :class:`evolab.PopulationEvaluator`
    computes without building the member's weights (deeper, small layers get
    their kernels built pass by pass: :mod:`evolab.lowrank`). Biases and other
    tensors get ordinary Gaussian noise. Members come in mirrored pairs; the
    scores are shaped (centered ranks) and weight the factors into the
    gradient estimate ``sum_i u_i A_i B_i^T / (sqrt(rank) * population_size * sigma)``,
    which the optimizer follows, as in :class:`OpenAIES`. One member's step is
    rank ``rank``, but their sum over a population is a full-rank step.

    The noise is never stored: generation ``g``'s factors are drawn with the
    backend's stateless random functions from seeds derived from ``(seed, g,
    variable)``, so the state is the center, the optimizer's moments and the
    generation count, and a resumed run draws exactly the same noise.

    ``ask()`` returns a :class:`LowRankPopulation` (the factors), not an array;
    ``population.member(i)`` materializes one member's weights (the seed-style
    per-individual check) and ``np.asarray(population)`` all of them.

    Args:
        num_params: Length of one candidate.
        population_size: Members per generation (even, at least 2).
        center: Initial center; defaults to `None` (zeros).
        seed: Seed of the noise; defaults to `None` (drawn once, then saved
            in :meth:`state_dict`).
        layer_shapes: The shapes of the variables that the flat vector holds,
            in order (``evolab.ParameterLayout.from_model(model).shapes``;
            :func:`evolab.neuroevolve` passes them). Defaults to `None`: one
            vector with Gaussian noise (then this is OpenAI-ES).
        rank: The rank ``r`` of each member's perturbation of a matrix;
            defaults to 1.
        sigma: The noise scale; defaults to 0.02.
        learning_rate: Step size of the center; defaults to 0.005.
        optimizer: `"adam"` (default), `"sgd"`, `"clipup"` or an optimizer object.
        sigma_schedule, learning_rate_schedule: `None` (constant) or a
            schedule such as ``evolab.strategies.decay(0.999, floor=0.01)``.
        fitness_shaping: `"centered_ranks"` (default), `"normalized"` or `"raw"`.

    Example:
        >>> es = LowRankES(num_params=26, population_size=8, layer_shapes=[(4, 5), (5,), (1,)], seed=0)
        >>> population = es.ask()              # a LowRankPopulation: factors, not a dense array
        >>> es.tell(-np.sum(np.asarray(population) ** 2, axis=1))

    Introduced in 11_neuroevolution_at_hyperscale.ipynb.
    """

    name = "lowrank_es"
    _min_population_size = 2
    _even_population = True
    _state_names = ("mean", "noise_seed")
    _renamed = {"init_sigma": "sigma", "center_learning_rate": "learning_rate"}

    def __init__(self, num_params, population_size, *, center=None, seed=None, layer_shapes=None, rank=1,
                 sigma=0.02, learning_rate=0.005, optimizer="adam", sigma_schedule=None, learning_rate_schedule=None,
                 fitness_shaping="centered_ranks"):
        super().__init__(num_params, population_size, center=center, seed=seed)
        shapes = ((num_params,),) if layer_shapes is None else tuple(tuple(int(d) for d in s) for s in layer_shapes)
        if sum(math.prod(s) for s in shapes) != num_params:
            raise ValueError(f"Expected layer_shapes holding num_params={num_params} numbers in all, received "
                             f"{layer_shapes!r} ({sum(math.prod(s) for s in shapes)} numbers).")
        self.layer_shapes = None if layer_shapes is None else shapes
        self._shapes = shapes
        self.rank = check_int("rank", rank, 1)
        self.sigma = check_positive("sigma", sigma)
        self.learning_rate = check_positive("learning_rate", learning_rate)
        self.optimizer = get_optimizer(optimizer)
        self.sigma_schedule = check_schedule("sigma_schedule", sigma_schedule)
        self.learning_rate_schedule = check_schedule("learning_rate_schedule", learning_rate_schedule)
        check_choice("fitness_shaping", fitness_shaping, [k for k in FITNESS_SHAPINGS if k != "rank_utilities"])
        self.fitness_shaping = fitness_shaping
        self.mean = self._initial_center.copy()
        self.noise_seed = int(self._rng.integers(2**31)) if seed is None else int(seed)
        self._pending = None

    @property
    def center(self):
        """The center of the search distribution (a copy)."""
        return self.mean.copy()

    def _sample(self):
        factors = sample_factors(self._shapes, self.rank, self.population_size // 2, self.noise_seed, self.generation)
        self._pending = LowRankPopulation(self.mean.copy(), factors, self._shapes, self.current_sigma, self.rank)

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self._pending = None  # a pending population is drawn again from (noise_seed, generation) when needed

    def _population(self):
        if self._pending is None:  # restored between ask() and tell(): the noise is drawn again, the same
            self._sample()
        return self._pending

    def _member(self, index):
        return self._population().member(index)

    def gradient_estimate(self, fitness):
        """The estimated gradient of the fitness at the center, without updating (as :meth:`OpenAIES.gradient_estimate`)."""
        return self._gradient(self._shaped(self._checked_fitness(fitness, "gradient_estimate")))

    def _gradient(self, utilities):
        population = self._population()
        half = population.half
        differences = ops.convert_to_tensor((utilities[:half] - utilities[half:]).astype(np.float32))
        scale = 1.0 / (self.population_size * population.sigma)
        return ops.convert_to_numpy(low_rank_gradient(population.factors, differences, self.rank, scale)).astype(np.float32)

    def _update(self, utilities):
        self.mean += self.optimizer.step(self._gradient(utilities), self.current_learning_rate)
        self._pending = None

