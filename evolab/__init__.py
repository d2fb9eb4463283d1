"""evolab: automated and evolutionary hyperparameter optimization and neuroevolution, taught with Keras 3.

Lessons import the package once and call helpers by qualified name::

    import evolab
    evolab.set_seed(0)
    data = evolab.data.load_digits()
    model = evolab.models.mlp(data.input_shape)
    vector = evolab.get_parameters(model)
"""

__version__ = "0.1.0"

import os as _os

# TensorFlow's C++ start-up chatter hides a lesson's real output; a user may still override this.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from . import callbacks, data, deap_tools, fitness, models, plot, runtime, strategies, weights  # noqa: E402
from .fitness import PopulationEvaluator, evaluate_parameters, keras_fitness  # noqa: E402
from .neuro import NeuroevolutionResult, neuroevolve  # noqa: E402
from .runtime import budget, environment_report, in_colab, quick_mode, set_seed  # noqa: E402
from .weights import ParameterLayout, count_parameters, get_parameters, set_parameters  # noqa: E402

__all__ = [
    "__version__", "callbacks", "data", "deap_tools", "fitness", "models", "plot", "runtime", "strategies",
    "weights",
    "PopulationEvaluator", "evaluate_parameters", "keras_fitness", "NeuroevolutionResult", "neuroevolve",
    "budget", "environment_report", "in_colab", "quick_mode", "set_seed",
    "ParameterLayout", "count_parameters", "get_parameters", "set_parameters",
]
