#!/usr/bin/env bash
# The GPU rows of docs/results.md (issue 12): one script, at most about 7 minutes on one GPU, JAX backend.
#
#   EVOLAB_DATA_DIR=/path/to/folder/with/mnist.npz bash benchmarks/gpu_rows.sh [OUT_DIR]
#
# A GPU machine without TensorFlow needs keras, deap, livelossplot and evolab installed (as wheels where it is
# offline: `pip wheel --no-deps . -d .whl` here, then `pip install --no-deps .whl/*.whl` there). It prints:
#   1. throughput of the low-rank evaluation, the full-rank evaluator and plain inference (seed MLP, 4,096 and
#      16,384 members; about 1.5 minutes);
#   2. MNIST by lowrank_es, 784-128-10: population 2,048 (the CPU preset) and 16,384, 1 minute each;
#   3. MNIST by PGPE on the CNN (full rank), 2 minutes.
# Each table is also written under OUT_DIR (default results/gpu).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/gpu}
mkdir -p "$out"
PYTHON=${PYTHON:-python3}
export KERAS_BACKEND=${KERAS_BACKEND:-jax} PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
"$PYTHON" -c "import keras, evolab; print(evolab.environment_report())"
"$PYTHON" benchmarks/lowrank_throughput.py --populations 4096 16384 --repeats 3 | tee "$out/throughput.md"
"$PYTHON" benchmarks/mnist_neuroevolution.py --minutes 1 --configs lowrank_es:mlp --out "$out" | tee "$out/lowrank_2048.md"
"$PYTHON" benchmarks/mnist_neuroevolution.py --minutes 1 --configs lowrank_es:mlp --out "$out" \
    --options '{"population_size": 16384}' | tee "$out/lowrank_16384.md"
"$PYTHON" benchmarks/mnist_neuroevolution.py --minutes 2 --configs pgpe:cnn --out "$out" | tee "$out/pgpe_cnn.md"
