#!/usr/bin/env bash
# The desktop GPU check (benchmarks/gpu_check.py says what it measures): on a bare machine with a CUDA
# GPU and PyTorch preinstalled, in at most 8 minutes, writes benchmarks/results/gpu/ (or --out DIR).
#
#     bash scripts/gpu_check.sh [--dry-run] [--out DIR] [--data-root DIR] [--budget SECONDS]
#
# On the lent GPU machine (the device tool; nothing outside it can be reached, 64 MiB travel):
#   here, once:  echo /.data/ >> .git/info/exclude; echo /.whl/ >> .git/info/exclude
#                python scripts/pack_sets.py ../shared/datasets .data Set5 T91   # lossless WebP: 7.7 MB (5 min)
#                pip download --no-deps -d .whl pytest iniconfig pluggy   # only what the machine lacks
#   device call: carry [".data", ".whl"], command
#                bash scripts/gpu_check.sh --out "$OUT/gpu"
#   then here:   copy its gpu/ folder over benchmarks/results/gpu/ and commit it.
# --dry-run runs every step on this CPU with tiny inputs (CI does, in tests/test_gpu_check.py).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
dry=0
for arg in "$@"; do [ "$arg" = --dry-run ] && dry=1; done
if [ "$dry" = 0 ]; then
  if compgen -G ".whl/*.whl" > /dev/null; then
    "$PY" -m pip install -q --no-deps --no-index .whl/*.whl || echo "gpu_check: carried wheels not installed" >&2
  fi
  # edgesr itself, without dependencies (the machine has them); gpu_check.py also puts src/ on the path
  "$PY" -m pip install -q --no-deps --no-build-isolation -e . > /dev/null 2>&1 \
    || echo "gpu_check: pip install -e . failed; running edgesr from src/" >&2
fi
if [ -z "${EDGESR_DATA:-}" ] && [ -d .data ]; then export EDGESR_DATA=$PWD/.data; fi
export PYTHONUNBUFFERED=1
exec "$PY" benchmarks/gpu_check.py "$@"
