"""The learned path on this machine: is it deterministic (two runs of one smoke-size replicate, bit for bit), and does
the init_learner refactor (0274dce) give the numbers of main before it (f8bdd81), bit for bit?
Run from the repository root: OMP_NUM_THREADS=1 .venv/bin/python reports/laptop/hybrid_fmaps/learned_determinism.py"""
import dataclasses, importlib.util, platform, subprocess, sys, tempfile, time

import cvkit.papers.hybrid_fmaps as new

OLD_COMMIT = "f8bdd81"
src = subprocess.run(["git", "show", f"{OLD_COMMIT}:cvkit/papers/hybrid_fmaps.py"], capture_output=True, text=True,
                     check=True).stdout
with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
    f.write(src)
spec = importlib.util.spec_from_file_location("cvkit.papers._hyb_old", f.name)  # its relative imports: cvkit.papers
old = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = old
spec.loader.exec_module(old)
cfg = dataclasses.replace(new.LEARNED_CONFIGS["smoke"], replicates=1)  # one replicate, both families, both arms


def run(mod):
    "run_learned of one module at the smoke size (fields the old LearnedConfig lacks are left out: their defaults)."
    names = {f.name for f in dataclasses.fields(mod.LearnedConfig)}
    t = time.perf_counter()
    r = mod.run_learned(mod.LearnedConfig(**{k: v for k, v in dataclasses.asdict(cfg).items() if k in names}), 0,
                        progress=False)
    return r, time.perf_counter() - t


def same(x, y) -> bool:
    "Test errors and every epoch's mean loss equal bit for bit."
    return (x.table.equals(y.table) and x.histories.keys() == y.histories.keys()
            and all(x.histories[k] == y.histories[k] for k in x.histories))


a, ta = run(new)
b, tb = run(new)
c, tc = run(old)
print(f"machine: {platform.processor() or platform.machine()}, {open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}")
print(f"times {ta:.1f} {tb:.1f} {tc:.1f} s; test rows {len(a.table)}")
print("this branch, run 1 == run 2 (bit for bit):", same(a, b))
print(f"this branch == {OLD_COMMIT} (bit for bit):", same(a, c))
print("mean test error ×100 by (family, arm):", {k: round(v, 6) for k, v in a.table.groupby(["family", "arm"]).error.mean().items()})
