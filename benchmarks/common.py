"""The row type and the timing helper shared by every benchmark module."""
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class BenchmarkRow:
    """One comparison: our routine against a reference, on one input size."""
    chapter: str  # the chapter whose routine is measured
    case: str  # what was run, e.g. "blur 1024² σ=8"
    reference: str  # the library routine compared against
    ours_s: float  # fastest time of ours, seconds
    reference_s: float  # fastest time of the reference, seconds
    quality: str  # how the outputs compare, e.g. "max |Δ| 3e-16"

    @property
    def time_ratio(self) -> float:
        """ours / reference: below 1 means ours is faster."""
        return self.ours_s / self.reference_s


def fastest(fn: Callable[[], object], repeats: int) -> float:
    """The fastest of `repeats` wall-clock runs of `fn()`, in seconds (the least disturbed by other processes)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best
