#!/bin/bash
# GLOW on a GPU (never run yet): for a session that has one. From the repository root, with the kit installed and
# the data in $CVKIT_DATA. Writes under ${OUT:-/tmp/glow_device}.
#  1. the smoke scale on CUDA: the whole notebook on the device; its sanity check identity-equals-conventional shows
#     whether the attack is bit-exact there (the head's 2x upsampling uses a deterministic stencil on CUDA);
#  2. the unit tests of the chapter (CPU) as a baseline;
#  3. the timing model of the gpu configuration's CPU-bound parts (timing_model.py);
#  4. the gpu scale itself, with /usr/bin/time, if time remains (sized for 30 minutes: see README.md).
set -e
OUT=${OUT:-/tmp/glow_device}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$OUT/gpu.txt"
.venv/bin/cvkit reproduce glow --scale smoke --device cuda --jobs 1 --out "$OUT/smoke_cuda" | tee "$OUT/smoke_cuda.log"
.venv/bin/python reports/laptop/glow-gpu-plan/timing_model.py | tee "$OUT/timing_model.out"
if [ "${RUN_GPU_SCALE:-0}" = 1 ]; then
  /usr/bin/time -v .venv/bin/cvkit reproduce glow --scale gpu --device cuda --jobs 1 --out "$OUT/gpu" 2>&1 | tee "$OUT/gpu.log"
fi
