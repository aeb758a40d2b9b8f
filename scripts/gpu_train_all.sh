#!/usr/bin/env bash
# Train every shipped model at once on one lent GPU (the device tool), far past the CPU budget.
#
# Here, before the device call (the 291 set is 66 MB as stored, over the 64 MB that travels; lossless
# WebP packs it to fit, and read_image decodes it to the same pixels):
#     echo /.data/ >> .git/info/exclude
#     python scripts/pack_sets.py ../shared/datasets .data T91 BSD200 Set5
# Device call: carry [".data", ".whl"] (.whl: wheels of the packages the device lacks), then
#     bash scripts/gpu_train_all.sh ITERATIONS
# It writes $OUT/runs.tar with each run's best/last weights, log and config.
set -euo pipefail
iters=${1:-60000}
export EDGESR_DATA=$PWD/.data PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
mkdir -p gpu_runs
for cfg in masrn_b6 vdsr asym_vdsr fsrcnn_x4; do  # masrn_b6 grows the shipped masrn (in the clone)
  python -m edgesr.cli train "configs/$cfg.yaml" --no-progress --set device=cuda --set "iterations=$iters" \
    --set "out_dir=gpu_runs/$cfg" --set val_every=5000 --set checkpoint_every=5000 > "gpu_runs/$cfg.out" 2>&1 &
done
wait
tar -cf "${OUT:-.}/runs.tar" --exclude='*.ckpt.safetensors' gpu_runs
