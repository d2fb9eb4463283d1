"""evolab: automated and evolutionary hyperparameter optimization and neuroevolution, taught with Keras 3.

Lessons import the package once and call helpers by qualified name::

    import evolab
    evolab.set_seed(0)
    data = evolab.data.load_digits()
    model = evolab.models.mlp(data.input_shape)
    vector = evolab.get_parameters(model)

Submodules load on first use, so ``import evolab`` is instant and a parallel worker that only needs
``evolab.parallel`` never starts TensorFlow.
"""

import importlib as _importlib
import os as _os

__version__ = "0.1.0"

# TensorFlow's C++ start-up chatter hides a lesson's real output; a user may still override this.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_SUBMODULES = ("callbacks", "cli", "data", "deap_tools", "fitness", "live", "models", "neuro", "parallel", "pareto", "plot",
               "runtime", "search", "strategies", "weights", "widgets")
_SHORTCUTS = {
    "budget": "runtime", "environment_report": "runtime", "in_colab": "runtime", "quick_mode": "runtime",
    "set_seed": "runtime",
    "ParameterLayout": "weights", "count_parameters": "weights", "get_parameters": "weights",
    "set_parameters": "weights",
    "PopulationEvaluator": "fitness", "evaluate_parameters": "fitness", "keras_fitness": "fitness",
    "NeuroevolutionResult": "neuro", "neuroevolve": "neuro",
}

__all__ = ["__version__", *_SUBMODULES, *_SHORTCUTS]


def __getattr__(name):
    if name in _SUBMODULES:
        value = _importlib.import_module(f".{name}", __name__)
    elif name in _SHORTCUTS:
        value = getattr(_importlib.import_module(f".{_SHORTCUTS[name]}", __name__), name)
    else:
        raise AttributeError(f"module 'evolab' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
