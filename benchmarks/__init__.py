"""Side-by-side benchmarks of each chapter's core routine against the reference a user would otherwise pick.

Run `python -m benchmarks` (add `--quick` for a seconds-long smoke run). Each benchmark module exposes
`run(quick: bool) -> list[BenchmarkRow]`; the ratios are printed as one table. Ratios, not absolute times, are what
carries from one machine to another: both sides run in the same process on the same inputs.
"""
