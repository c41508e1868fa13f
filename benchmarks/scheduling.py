"""The grid runner's engines: scheduling overhead per task of a Dask LocalCluster against the local pool.

Both run the same grid of 40 no-op tasks (`noop_task`: no kernel, a passed result and a tiny notebook), through the
same `reproduce_grid` (results streamed back, notebooks written under seed-<s>/, the reports written), so the difference
is the engine: submission, serialisation, the trip through the scheduler and back. The LocalCluster is started once,
before the clock starts (its start-up, seconds, is paid once per run, not per task, and is reported beside), and is
reached as an existing scheduler (`--executor dask`), on the loopback interface only.
"""
import tempfile
import time
from pathlib import Path

from benchmarks.common import BenchmarkRow
from cvkit.core.chapters import Chapter
from cvkit.core.reproduce import ExecutorOptions, dask_client, noop_task, reproduce_grid

N_CHAPTERS, N_SEEDS = 8, 5  # 40 tasks: the shape of a real grid (chapters × seeds), smaller


def _grid_s(chapters: list[Chapter], executor: ExecutorOptions | str, jobs: int | None, repeats: int) -> float:
    """The fastest of `repeats` wall-clock runs of the no-op grid, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="cvkit-bench-") as out:
            start = time.perf_counter()
            report = reproduce_grid(chapters, out=out, scale="smoke", seeds=list(range(N_SEEDS)), device="cpu",
                                    executor=executor, jobs=jobs, progress=False, task_fn=noop_task)
            best = min(best, time.perf_counter() - start)
        if not report.ok or len(report.tasks) != len(chapters) * N_SEEDS:
            raise RuntimeError(f"the no-op grid did not pass on {executor}")
    return best


def run(quick: bool = False) -> list[BenchmarkRow]:
    """Per-task time of 40 no-op tasks on a 2-worker Dask LocalCluster against the local pool with 2 jobs."""
    chapters = [Chapter(name=f"noop{i}", path=Path(f"/no-op/noop{i}.ipynb"), part="bench", title=f"No-op {i}", module=None, paper=None)
                for i in range(N_CHAPTERS)]
    n_tasks, repeats = N_CHAPTERS * N_SEEDS, 1 if quick else 3
    local_s = _grid_s(chapters, "local", 2, repeats)
    start = time.perf_counter()
    with dask_client(ExecutorOptions("dask-local", workers=2)) as client:
        started_s = time.perf_counter() - start
        options = ExecutorOptions("dask", scheduler=client.scheduler.address, connect_timeout_s=60)
        dask_s = _grid_s(chapters, options, None, repeats)
    return [BenchmarkRow(chapter="reproduce", case=f"{n_tasks} no-op tasks, 2 workers", reference="local pool (2 jobs)",
                         ours_s=dask_s / n_tasks, reference_s=local_s / n_tasks,
                         quality=f"per task: Dask {1e3 * dask_s / n_tasks:.1f} ms, local {1e3 * local_s / n_tasks:.1f} ms; "
                                 f"cluster start {started_s:.1f} s, once")]


if __name__ == "__main__":
    for row in run(quick=True):
        print(row, f"ratio {row.time_ratio:.2f}")
