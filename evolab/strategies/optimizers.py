"""How a gradient estimate becomes a step of the center: SGD, Adam, ClipUp.

An evolution strategy estimates the gradient of the expected fitness; an
optimizer turns that estimate into a step, exactly as in backprop training.
Each optimizer is a small object: its options (``beta1``, ``momentum``, ...)
are fixed when it is built, its state (moments, velocity, step count) changes
with every :meth:`Optimizer.step`, and :meth:`~Optimizer.state_dict` saves
that state for an exact resume. Strategies take one by name (``"adam"``) or
as an object (``Adam(beta1=0.8)``), so the options stay grouped with the
optimizer they belong to instead of spreading over every constructor (as
EvoJAX's ``optimizer_config`` groups them).

Every step here is for gradient **ascent**: fitness is higher-is-better.

The arithmetic of a step is written once, in :meth:`Optimizer.update`, for an
array module ``xp``: NumPy when :meth:`Optimizer.step` runs on the host, or
``keras.ops`` when a whole generation runs compiled on the backend
(:class:`evolab.strategies.CompiledGeneration`).

Introduced in 10_neuroevolution_at_scale.ipynb.
"""

from __future__ import annotations

import copy

import numpy as np

__all__ = ["Optimizer", "SGD", "Adam", "ClipUp", "OPTIMIZERS", "get_optimizer"]


def _check_unit_interval(name, value, optimizer):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0.0 <= value < 1.0:
        raise ValueError(f"Expected {name} of {optimizer} to be a number in [0, 1), received {value!r}.")
    return float(value)


class Optimizer:
    """Base class: ``step(gradient, learning_rate)`` returns the change to add to the center.

    Subclasses set their options in ``__init__`` (listed in ``_option_names``),
    their state in :meth:`reset` (``None`` until the first step), and
    implement :meth:`update`.
    """

    name = "optimizer"
    _option_names: tuple = ()
    _state_names: tuple = ()

    def __init__(self):
        self.reset()

    def reset(self):
        """Forgets the state (as if no step had been taken)."""
        self.steps = 0

    @property
    def options(self):
        """The optimizer's options, a dict (fixed for its life)."""
        return {name: getattr(self, name) for name in self._option_names}

    def step(self, gradient, learning_rate):
        """One step up ``gradient`` (a float32 array) with step size ``learning_rate``; returns the change."""
        gradient = np.asarray(gradient, dtype=np.float32)
        self.steps += 1
        change, state = self.update(np, gradient, float(learning_rate), self.initial_state(np, gradient), self.steps)
        for name, value in zip(self._state_names, state):
            setattr(self, name, value)
        return change.astype(np.float32)

    def initial_state(self, xp, like):
        """The state arrays in ``_state_names`` order, zeros (shaped ``like``) where no step was taken yet."""
        return tuple(xp.zeros_like(like) if getattr(self, name) is None else getattr(self, name)
                     for name in self._state_names)

    def update(self, xp, gradient, learning_rate, state, steps):
        """The step itself, a pure function: returns ``(change, new_state)``.

        Args:
            xp: the array module, ``numpy`` or ``keras.ops``.
            gradient: the gradient estimate.
            learning_rate: the step size (a number, or a float32 scalar tensor).
            state: the state arrays, in ``_state_names`` order.
            steps: the number of this step, counted from 1 (an int, or a float32 scalar tensor).
        """
        raise NotImplementedError

    def state_dict(self):
        """The changing state (arrays and the step count), for :meth:`load_state_dict`."""
        state = {"steps": self.steps}
        for name in self._state_names:
            state[name] = copy.deepcopy(getattr(self, name))
        return state

    def load_state_dict(self, state):
        """Restores a state saved by :meth:`state_dict` (the options stay as built)."""
        self.steps = int(state["steps"])
        for name in self._state_names:
            setattr(self, name, copy.deepcopy(state[name]))

    def __eq__(self, other):
        return type(self) is type(other) and self.options == other.options

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.options.items())})"


class SGD(Optimizer):
    """Plain gradient ascent, optionally with momentum: ``velocity = momentum * velocity + gradient``.

    Args:
        momentum: defaults to 0.0 (no momentum: the step is ``learning_rate * gradient``).
    """

    name = "sgd"
    _option_names = ("momentum",)
    _state_names = ("velocity",)

    def __init__(self, momentum=0.0):
        self.momentum = _check_unit_interval("momentum", momentum, type(self).__name__)
        super().__init__()

    def reset(self):
        super().reset()
        self.velocity = None

    def update(self, xp, gradient, learning_rate, state, steps):
        velocity = self.momentum * state[0] + gradient
        return learning_rate * velocity, (velocity,)


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015): a step per parameter scaled by running moments of the gradient.

    Args:
        beta1: decay of the first moment (the mean gradient); defaults to 0.9.
        beta2: decay of the second moment (the squared gradient); defaults to 0.999.
        epsilon: added to the root of the second moment; defaults to 1e-8.
    """

    name = "adam"
    _option_names = ("beta1", "beta2", "epsilon")
    _state_names = ("moment1", "moment2")

    def __init__(self, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.beta1 = _check_unit_interval("beta1", beta1, "Adam")
        self.beta2 = _check_unit_interval("beta2", beta2, "Adam")
        if not isinstance(epsilon, (int, float, np.number)) or not epsilon > 0:
            raise ValueError(f"Expected epsilon of Adam to be a number > 0, received {epsilon!r}.")
        self.epsilon = float(epsilon)
        super().__init__()

    def reset(self):
        super().reset()
        self.moment1 = self.moment2 = None

    def update(self, xp, gradient, learning_rate, state, steps):
        m = self.beta1 * state[0] + (1 - self.beta1) * gradient
        v = self.beta2 * state[1] + (1 - self.beta2) * xp.square(gradient)
        m_hat = m / (1 - self.beta1**steps)
        v_hat = v / (1 - self.beta2**steps)
        return learning_rate * m_hat / (xp.sqrt(v_hat) + self.epsilon), (m, v)


class ClipUp(SGD):
    """ClipUp (Toklu et al., 2020): a normalized gradient with momentum and a speed limit.

    The velocity gains ``learning_rate * gradient / |gradient|`` each step and
    decays by ``momentum``; its length is capped at ``max_speed``. Steps are
    therefore the same size whatever the scale of the fitness.

    Args:
        momentum: defaults to 0.9.
        max_speed: the longest step; defaults to `None` (twice the learning rate).
    """

    name = "clipup"
    _option_names = ("momentum", "max_speed")

    def __init__(self, momentum=0.9, max_speed=None):
        if max_speed is not None and (not isinstance(max_speed, (int, float, np.number)) or not max_speed > 0):
            raise ValueError(f"Expected max_speed of ClipUp to be None or a number > 0, received {max_speed!r}.")
        self.max_speed = None if max_speed is None else float(max_speed)
        super().__init__(momentum)

    def update(self, xp, gradient, learning_rate, state, steps):
        norm = xp.sqrt(xp.sum(xp.square(gradient)))
        velocity = self.momentum * state[0] + gradient * xp.where(norm > 0, learning_rate / xp.maximum(norm, 1e-30), 0.0)
        max_speed = 2 * learning_rate if self.max_speed is None else self.max_speed
        speed = xp.sqrt(xp.sum(xp.square(velocity)))
        velocity = velocity * xp.where(speed > max_speed, max_speed / xp.maximum(speed, 1e-30), 1.0)
        return velocity, (velocity,)


OPTIMIZERS = {cls.name: cls for cls in (SGD, Adam, ClipUp)}


def get_optimizer(spec):
    """A fresh optimizer from a name (``"sgd"``, ``"adam"``, ``"clipup"``) or an :class:`Optimizer`.

    An optimizer object is copied with its options and a fresh state, so two
    strategies never share moments.

    Example:
        >>> get_optimizer("adam")
        Adam(beta1=0.9, beta2=0.999, epsilon=1e-08)
    """
    if isinstance(spec, Optimizer):
        return type(spec)(**spec.options)
    if isinstance(spec, str) and spec.lower() in OPTIMIZERS:
        return OPTIMIZERS[spec.lower()]()
    raise ValueError(f"Expected optimizer to be one of {list(OPTIMIZERS)} or an evolab.strategies.Optimizer "
                     f"(e.g. Adam(beta1=0.8)), received {spec!r}.")
