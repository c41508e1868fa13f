"""`python -m benchmarks [--quick]`: print every chapter's benchmark table."""
import argparse
import importlib
import sys

MODULES = ("benchmarks.tour", "benchmarks.amg", "benchmarks.flowmdm", "benchmarks.spectral", "benchmarks.couplap",
           "benchmarks.hybrid_fmaps", "benchmarks.semgud", "benchmarks.tpatches",
           "benchmarks.vitamin", "benchmarks.frofa", "benchmarks.videollm_online", "benchmarks.glow",
           "benchmarks.sprites", "benchmarks.scheduling")  # one module per chapter with a
# benchmark, in book order; then the runner's engines (scheduling: Dask against the local pool)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small inputs, few repeats (seconds)")
    args = parser.parse_args(argv)
    header = f"{'chapter':8s} {'case':22s} {'reference':32s} {'ours':>10s} {'reference':>10s} {'ratio':>7s}  quality"
    print(header)
    print("-" * len(header))
    for name in MODULES:
        for row in importlib.import_module(name).run(quick=args.quick):
            print(f"{row.chapter:8s} {row.case:22s} {row.reference:32s} {1e3 * row.ours_s:8.2f}ms "
                  f"{1e3 * row.reference_s:8.2f}ms {row.time_ratio:6.2f}×  {row.quality}")
    print("\nratio = our time / reference time (below 1: ours is faster); both run in this process on the same inputs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
