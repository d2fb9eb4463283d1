"""evolab against evosax: OpenAI-ES on the same MNIST MLP, population, batch and starting weights.

Usage (evosax lives in its own environment, never in evolab's dependencies):
    python3 -m venv .benchvenv && .benchvenv/bin/pip install evosax "jax[cpu]" keras deap pandas scikit-learn \
        matplotlib tqdm livelossplot ipywidgets && .benchvenv/bin/pip install --no-deps -e .
    python benchmarks/evosax_compare.py --evosax-python .benchvenv/bin/python [--generations 200]

Prints one markdown table: seconds per generation (steady state, after compilation) and test accuracy of the
final mean after the same number of generations, for
  * evolab (TensorFlow backend, this interpreter), with OpenAI-ES's default fresh NumPy noise (ask/evaluate/tell)
    and with its noise table (``noise="table"``: the whole generation one compiled function, CompiledGeneration),
  * evolab (JAX backend, the evosax interpreter; shows what the backend alone changes), the same two ways,
  * evosax's Open_ES with the forward pass written in jax.numpy and the whole generation jit-compiled.
All three use antithetic sampling, centered ranks, Adam on the mean, the same sigma and learning rate, the
cross-entropy of a fresh training mini-batch as fitness, and the same initial weights.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def load(hidden_units):
    import evolab

    evolab.set_seed(0)
    data = evolab.data.load_mnist(flatten=True)
    model = evolab.models.mlp(data.input_shape, hidden_units=(hidden_units,))
    return evolab, data, model


def run_evolab(args, initial_path):
    import numpy as np

    evolab, data, model = load(args.hidden_units)
    evolab.set_parameters(model, np.load(initial_path))
    result = evolab.neuroevolve(model, data.train, data.validation, strategy="openai_es", noise=args.noise,
                                population_size=args.population_size, num_generations=args.generations,
                                batch_size=args.batch_size, seed=0, validation_every=args.generations,
                                progress_bar=False, learning_rate=args.learning_rate, sigma=args.sigma)
    wall = result.history["wall_time"].to_numpy()
    per_generation = float(np.median(np.diff(wall[:-1])))  # steady state: the last row includes validation
    accuracy = evolab.evaluate_parameters(model, result.strategy.center, *data.test)
    import keras

    how = "noise table, compiled generation" if result.config["compiled_generation"] else "fresh noise, ask/tell"
    return {"name": f"evolab ({keras.backend.backend()}, {how})", "seconds_per_generation": per_generation,
            "first_generation_seconds": float(wall[0]), "test_accuracy": accuracy}


def run_evosax(args, initial_path):
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax
    from evosax.algorithms import Open_ES

    _, data, model = load(args.hidden_units)
    x_train, y_train = (jnp.asarray(a) for a in data.train)
    x_test, y_test = (jnp.asarray(a) for a in data.test)
    initial = jnp.asarray(np.load(initial_path))
    shapes = [tuple(v.shape) for v in model.trainable_variables]
    sizes = [int(np.prod(s)) for s in shapes]
    offsets = np.cumsum([0] + sizes[:-1])

    def forward(flat, x):
        w1, b1, w2, b2 = (flat[o:o + n].reshape(s) for o, n, s in zip(offsets, sizes, shapes))
        return jax.nn.relu(x @ w1 + b1) @ w2 + b2

    def loss(flat, x, y):  # the MLP ends in softmax in evolab; log_softmax of the logits is the same loss
        log_probs = jax.nn.log_softmax(forward(flat, x))
        return -jnp.mean(jnp.take_along_axis(log_probs, y[:, None], axis=1))

    strategy = Open_ES(population_size=args.population_size, solution=initial,
                       optimizer=optax.adam(args.learning_rate), std_schedule=optax.constant_schedule(args.sigma))
    params = strategy.default_params

    @jax.jit
    def generation(state, key):
        key_batch, key_ask, key_tell = jax.random.split(key, 3)
        index = jax.random.choice(key_batch, x_train.shape[0], (args.batch_size,), replace=False)
        x, y = x_train[index], y_train[index]
        population, state = strategy.ask(key_ask, state, params)
        fitness = jax.vmap(loss, in_axes=(0, None, None))(population, x, y)  # evosax minimises
        state, _ = strategy.tell(key_tell, population, fitness, state, params)
        return state

    key = jax.random.key(0)
    state = strategy.init(key, initial, params)
    times = []
    for g in range(args.generations):
        key, sub = jax.random.split(key)
        start = time.perf_counter()
        state = generation(state, sub)
        jax.block_until_ready(state.mean)
        times.append(time.perf_counter() - start)
    accuracy = float(jnp.mean(jnp.argmax(forward(state.mean, x_test), axis=1) == y_test))
    return {"name": "evosax Open_ES (jax.jit, whole generation)", "seconds_per_generation": float(np.median(times[1:])),
            "first_generation_seconds": times[0], "test_accuracy": accuracy}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evosax-python", default=".benchvenv/bin/python")
    parser.add_argument("--generations", type=int, default=200)
    parser.add_argument("--population-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--hidden-units", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--sigma", type=float, default=0.03)
    parser.add_argument("--worker", choices=["evolab", "evosax"], default=None)
    parser.add_argument("--noise", choices=["fresh", "table"], default="fresh", help="evolab worker: OpenAI-ES noise")
    parser.add_argument("--initial", default=None)
    args = parser.parse_args()
    if args.worker:
        row = (run_evolab if args.worker == "evolab" else run_evosax)(args, args.initial)
        print("ROW " + json.dumps(row), flush=True)
        return
    import numpy as np

    evolab, _, model = load(args.hidden_units)
    print(f"{os.cpu_count()} cores; {evolab.environment_report()}")
    with tempfile.TemporaryDirectory() as folder:
        initial = Path(folder) / "initial.npy"
        np.save(initial, evolab.get_parameters(model))
        common = [__file__, "--initial", str(initial)] + [f"--{k.replace('_', '-')}={getattr(args, k)}" for k in (
            "generations", "population_size", "batch_size", "hidden_units", "learning_rate", "sigma")]
        jax = {"KERAS_BACKEND": "jax"}
        runs = [(sys.executable, "evolab", {}, "fresh"), (sys.executable, "evolab", {}, "table"),
                (args.evosax_python, "evolab", jax, "fresh"), (args.evosax_python, "evolab", jax, "table"),
                (args.evosax_python, "evosax", jax, "fresh")]
        rows = []
        for python, worker, env, noise in runs:
            done = subprocess.run([python] + common + ["--worker", worker, "--noise", noise], capture_output=True,
                                  text=True,
                                  env={**os.environ, **env})
            lines = [line for line in done.stdout.splitlines() if line.startswith("ROW ")]
            if done.returncode or not lines:
                print(f"{worker} with {python} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                continue
            rows.append(json.loads(lines[-1][4:]))
    num_params = evolab.count_parameters(model)
    print(f"\nOpenAI-ES, MLP 784-{args.hidden_units}-10 ({num_params:,} parameters), population "
          f"{args.population_size}, batch {args.batch_size}, {args.generations} generations, sigma {args.sigma}, "
          f"Adam {args.learning_rate}\n")
    reference = next((r["seconds_per_generation"] for r in rows if r["name"].startswith("evosax")), None)
    print("| implementation | seconds per generation | vs evosax | first generation (s, with compile) | "
          "test accuracy |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        ratio = f"{row['seconds_per_generation'] / reference:.2f}x" if reference else "n/a"
        print(f"| {row['name']} | {row['seconds_per_generation']:.4f} | {ratio} | "
              f"{row['first_generation_seconds']:.2f} | {row['test_accuracy']:.4f} |")


if __name__ == "__main__":
    main()
