#!/bin/bash
# GLOW on a GPU (never run yet): for a session that has one. From the repository root, with the kit installed and
# the data in $CVKIT_DATA. Writes under ${OUT:-/tmp/glow_device}.
#  1. the PGD probe (pgd_probe.py, about a minute): PGD steps of the chapter's detector at batch 16 and 256 px, timed,
#     against the timing model's assumed 3 TFLOP/s and 2 ms a call and the break-even rate (1.24 TFLOP/s for 30 min);
#     a short device session can test the assumption with this step alone (STOP_AFTER_PROBE=1);
#  2. the smoke scale on CUDA: the whole notebook on the device; its sanity check identity-equals-conventional shows
#     whether the attack is bit-exact there (the head's 2x upsampling uses a deterministic stencil on CUDA);
#  3. the timing model of the gpu configuration's CPU-bound parts (timing_model.py);
#  4. the gpu scale itself, with /usr/bin/time, if RUN_GPU_SCALE=1 (sized for 30 minutes: see README.md).
# The chapter's unit tests run on the CPU and are not part of this script.
set -eo pipefail
OUT=${OUT:-/tmp/glow_device}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$OUT/gpu.txt"
timeout 120 .venv/bin/python reports/laptop/glow-gpu-plan/pgd_probe.py --device cuda --seconds 30 | tee "$OUT/pgd_probe.out"
if [ "${STOP_AFTER_PROBE:-0}" = 1 ]; then exit 0; fi
.venv/bin/cvkit reproduce glow --scale smoke --device cuda --jobs 1 --out "$OUT/smoke_cuda" | tee "$OUT/smoke_cuda.log"
.venv/bin/python reports/laptop/glow-gpu-plan/timing_model.py | tee "$OUT/timing_model.out"
if [ "${RUN_GPU_SCALE:-0}" = 1 ]; then
  /usr/bin/time -v .venv/bin/cvkit reproduce glow --scale gpu --device cuda --jobs 1 --out "$OUT/gpu" 2>&1 | tee "$OUT/gpu.log"
fi
