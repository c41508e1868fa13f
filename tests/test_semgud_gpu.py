"""The gpu configuration's code path, end to end, on the CPU.

No GPU was available to this chapter, so `--scale gpu` has never run on one. This test proves that the gpu path at
least *runs*: it executes every code cell of the chapter's notebook at `SCALE = "gpu"` (so the gpu-only branches run:
all seven arms including V2, the compute-matched V1, the clock experiment, the claims at gpu), with the gpu
configuration's MODEL sizes (64×64 crops, NAFNet-lite of width 32, G of width 16, PatchGAN of width 32, 31×31
kernels) and tiny data and step counts, in a fresh Python process (the chapter seeds and configures torch globally).
It says nothing about the gpu run's time or results.
"""
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

from cvkit.papers.semgud import CONFIGS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "nbs" / "chapters" / "21_semgud.ipynb"
# sizes of the data and the schedule only; every model-size field of CONFIGS["gpu"] is kept
TINY_GPU = dict(n_sharp=8, n_blurry=8, n_test=4, n_map=1, steps=3, batch=2, refresh=1, replicates=2, bench_side=64)
MODEL_FIELDS = ("crop", "side", "ksize", "length", "unseen_length", "r_arch", "r_width", "g_width", "d_width", "k",
                "patch", "stride", "border", "arms", "lr", "lambda_rpc", "lambda_se", "warmup", "redeg")

RUNNER = textwrap.dedent("""
    import json, sys, time
    from dataclasses import replace
    import matplotlib
    matplotlib.use("Agg")
    cells, tiny = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    ns = {"__name__": "__main__"}
    for i, (src, is_parameters) in enumerate(cells):
        if is_parameters:
            src = 'SCALE = "gpu"\\nSEED = 0\\nDEVICE = "cpu"'
        start = time.perf_counter()
        exec(compile(src, f"<cell {i}>", "exec"), ns)
        print(f"TIME cell {i}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
        if "CONFIGS: dict" in src:  # the configurations exist: shrink the gpu one's data and steps
            ns["CONFIGS"] = {**ns["CONFIGS"], "gpu": replace(ns["CONFIGS"]["gpu"], **tiny)}
    cfg, results = ns["cfg"], ns["results"]
    print("RESULT " + json.dumps({"scale": ns["ctx"].scale, "device": str(ns["ctx"].device),
                                  "r_arch": cfg.r_arch, "r_width": cfg.r_width, "crop": cfg.crop,
                                  "methods": sorted(set(results.method)), "v1c_steps": ns["v1c_steps"],
                                  "clock": "clock_rows" in ns, "claims": len(ns["ledger"].claims),
                                  "r_params": sum(p.numel() for p in ns["kept0"]["V3"].R.parameters())}))
""")


def test_tiny_gpu_keeps_the_gpu_model_sizes():
    gpu, tiny = CONFIGS["gpu"], replace(CONFIGS["gpu"], **TINY_GPU)
    assert all(getattr(tiny, f) == getattr(gpu, f) for f in MODEL_FIELDS)
    assert gpu.r_arch == "nafnet" and gpu.r_width == 32 and gpu.crop == 64 and "V2" in gpu.arms


def test_gpu_configuration_runs_end_to_end_on_cpu(tmp_path):
    nb = json.loads(NOTEBOOK.read_text())
    cells = [("".join(c["source"]), "parameters" in c.get("metadata", {}).get("tags", []))
             for c in nb["cells"] if c["cell_type"] == "code"]
    assert sum(p for _, p in cells) == 1
    env = {**os.environ, "CVKIT_CHECK_PINS": "0", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(cells), json.dumps(TINY_GPU)], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-4000:]
    out = json.loads(next(line for line in res.stdout.splitlines() if line.startswith("RESULT "))[7:])
    assert out["scale"] == "gpu" and out["device"] == "cpu"
    assert (out["r_arch"], out["r_width"], out["crop"]) == ("nafnet", 32, 64)
    assert out["r_params"] > 500_000  # NAFNet-lite 32, not the laptop UNet-8 (≈30 k)
    assert set(CONFIGS["gpu"].arms) | {"V1c", "input", "blind MAP", "RL oracle"} <= set(out["methods"])
    assert out["v1c_steps"] is not None and out["clock"] and out["claims"] == 13
