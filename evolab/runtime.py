"""Where the code runs: seeding, quick mode, Colab, and an environment report.

Introduced in 00_welcome.ipynb.
"""

from __future__ import annotations

import os
import platform
import random
import sys

import numpy as np

__all__ = ["set_seed", "quick_mode", "in_colab", "environment_report", "budget"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def set_seed(seed: int) -> None:
    """Seeds Python's ``random``, NumPy and the Keras backend in one call.

    Args:
        seed: a non-negative integer.

    Raises:
        ValueError: if ``seed`` is not a non-negative integer.

    Example:
        >>> evolab.set_seed(42)
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; received {seed!r}")
    import keras

    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    keras.utils.set_random_seed(int(seed) % 2**32)


def quick_mode() -> bool:
    """True when ``EVOLAB_QUICK`` asks for shrunken budgets (CI and quick previews).

    ``EVOLAB_QUICK=1`` (or true/yes/on) turns it on; unset, ``0`` (or
    false/no/off) turns it off.

    Raises:
        ValueError: for any other value, so a typo is not silently ignored.
    """
    value = os.environ.get("EVOLAB_QUICK", "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(
        f"EVOLAB_QUICK must be one of 1/0/true/false/yes/no/on/off; received {os.environ['EVOLAB_QUICK']!r}"
    )


def budget(full, quick):
    """Returns ``quick`` in quick mode and ``full`` otherwise.

    Lessons write their budgets once: ``num_generations = evolab.budget(2000, 20)``.
    """
    return quick if quick_mode() else full


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules


def _devices(backend: str) -> str:
    try:
        if backend == "jax":
            import jax

            return ",".join(sorted({d.platform for d in jax.devices()}))
        if backend == "torch":
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            return f"gpu x{len(gpus)}" if gpus else "cpu"
    except Exception as exc:  # a report must never break a lesson's setup cell
        return f"unknown ({type(exc).__name__})"
    return "cpu"


def environment_report() -> str:
    """One line naming the Python, Keras, backend, device and key package versions.

    Example:
        >>> print(evolab.environment_report())  # doctest: +SKIP
        evolab 0.1.0 | Python 3.11.7 | Keras 3.15.1 (tensorflow 2.21.0, cpu) | DEAP 1.4.4 | quick mode on | local
    """
    import keras

    from . import __version__

    backend = keras.backend.backend()
    backend_module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend, backend)
    try:
        backend_version = sys.modules[backend_module].__version__ if backend_module in sys.modules else (
            __import__(backend_module).__version__)
    except Exception:
        backend_version = "?"
    try:
        import deap

        deap_version = deap.__version__
    except Exception:
        deap_version = "missing"
    host = "Colab" if in_colab() else platform.system() or "local"
    try:
        mode = "quick mode on" if quick_mode() else "full mode"
    except ValueError as exc:
        mode = str(exc)
    return (
        f"evolab {__version__} | Python {platform.python_version()} | Keras {keras.__version__} "
        f"({backend} {backend_version}, {_devices(backend)}) | DEAP {deap_version} | {mode} | {host}"
    )
