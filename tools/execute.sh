#!/usr/bin/env bash
# Execute notebooks in place in quick mode (what gets committed), e.g. tools/execute.sh notebooks/00_welcome.ipynb
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(cd .. && pwd)/shared/data
[ -f "$data/mnist.npz" ] && export EVOLAB_DATA_DIR="$data"
export EVOLAB_QUICK=1 TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0
for notebook in "$@"; do
  start=$(date +%s)
  .venv/bin/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=900 "$notebook" 2>&1 | grep -v "^\[NbConvertApp\]" || true
  .venv/bin/python tools/lessons.py clean "$notebook" > /dev/null
  echo "$notebook: $(( $(date +%s) - start )) s"
done
