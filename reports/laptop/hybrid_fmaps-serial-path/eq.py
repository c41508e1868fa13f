"""Old (main 1459051) vs new run_experiment / run_learned on the smoke configurations and a tiny laptop-shaped config
(sweep, remeshed, delta): the serial path (basis_workers = 1, fresh data per replicate) must give identical tables."""
import dataclasses, time
import numpy as np, pandas as pd
import cvkit.papers._hf_old as O
import cvkit.papers.hybrid_fmaps as N
t = time.time()
tiny = dict(subdivisions=2, vertices=0, pairs=2, k_init=8, sizes=(8, 10), main_k=10, sweep_shapes=1,
            sweep_angles=(10.0, 60.0), remeshed=1, deltas=(1e-3, 1e-2), delta_pairs=1, real_k=0, first_pair=5)
for name, (co, cn) in {"smoke": (O.CONFIGS["smoke"], N.CONFIGS["smoke"]),
                       "tiny laptop-shaped": (O.HybridConfig(**tiny), N.HybridConfig(**tiny))}.items():
    a, b = O.run_experiment(co, 0, progress=False), N.run_experiment(cn, 0, progress=False)
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    assert a.identity_gap == b.identity_gap and all(np.array_equal(a.example_maps[k], b.example_maps[k]) for k in a.example_maps)
    print(name, "axiomatic: identical,", len(a.table), "rows", flush=True)
for name in ("smoke",):
    a, b = O.run_learned(O.LEARNED_CONFIGS[name], 0, progress=False), N.run_learned(N.LEARNED_CONFIGS[name], 0, progress=False)
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    assert a.histories == b.histories and a.identity_gap == b.identity_gap and a.untrained_ratio == b.untrained_ratio
    print(name, "learned: identical,", len(a.table), "rows; histories identical", flush=True)
lap_o, lap_n = O.LEARNED_CONFIGS["laptop"], N.LEARNED_CONFIGS["laptop"]
shrunk = dict(replicates=2, train_pairs=2, test_pairs=1, epochs=2)
a = O.run_learned(dataclasses.replace(lap_o, **shrunk), 0, progress=False)
b = N.run_learned(dataclasses.replace(lap_n, **shrunk), 0, progress=False)
pd.testing.assert_frame_equal(a.table, b.table, check_exact=True); assert a.histories == b.histories
print("laptop learned config shrunk (2 replicates, 2 train, 1 test, 2 epochs): identical", flush=True)
print(f"{time.time() - t:.0f} s")
