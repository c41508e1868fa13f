"""The grid runner: (chapter, scale, seed) tasks on the local pool and on a Dask LocalCluster (loopback only), claims
decided over the seeds, a crashing task, a lost worker's retry, an environment mismatch, and the pure helpers."""
import json

import pytest

from cvkit.core.chapters import Chapter, CvkitError, load_chapter
from cvkit.core.claims import REPRODUCED, UNDECIDED, ClaimSpec, decide, paired, replicates
from cvkit.core.reproduce import (CRASHED, FAILED, INTERRUPTED, PASSED, ExecutorOptions, GridTask,
                                  check_workers, combine_seeds, environment_mismatches, failed_result,
                                  gpu_devices, grid_gpu_hours, grid_tasks, judge_grid_chapter, noop_task, parse_seeds,
                                  reproduce_grid, run_task, runtime_environment, slurm_cluster_class,
                                  slurm_cluster_kwargs)
from conftest import CRASHING, LEDGER, make_chapter_notebook

# Two tiny chapters whose claims depend on SEED, so that the seeds are real replicates (no zero spread)
SEEDED_VALUE = [LEDGER, "ledger.check_specs({'above-one': replicates([2.0 + 0.1 * SEED, 2.2 + 0.05 * SEED, 1.9])}, "
                        "[ClaimSpec('above-one', 'the value is at least one', 'value', '>=', "
                        "{s: (1.0, REPRODUCED) for s in ('smoke', 'laptop', 'gpu')})])"]
SEEDED_PAIRED = ["from cvkit.core.claims import paired\n" + LEDGER,
                 "ledger.check_specs({'gain': paired([1.0 + 0.2 * SEED, 1.1, 1.2], [0.5, 0.6, 0.55 + 0.1 * SEED])}, "
                 "[ClaimSpec('gain', 'the treatment beats the baseline', 'score', '>', "
                 "{s: (0.0, REPRODUCED) for s in ('smoke', 'laptop', 'gpu')})])"]


def killer(marker) -> list[str]:
    """A chapter that, the first time it runs, kills the Dask worker process running it (a lost node), then passes."""
    return [LEDGER, f"""import os, pathlib, signal, psutil
marker = pathlib.Path({str(marker)!r})
if not marker.exists():
    marker.write_text('killed once')
    worker = psutil.Process().parent().parent()  # kernel -> papermill worker process -> Dask worker process
    assert 'multiprocessing' in ' '.join(worker.cmdline()), worker.cmdline()  # never the test process itself
    for p in worker.children(recursive=True):
        if p.pid != os.getpid():
            p.kill()
    worker.kill()
    os.kill(os.getpid(), signal.SIGKILL)""",
            "ledger.check_specs({'survives': replicates([1.0, 1.1, 0.9])}, [ClaimSpec('survives', 'it ran', 'value', "
            "'>=', {'smoke': (0.0, REPRODUCED)})])"]


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of two single-threaded worker processes on 127.0.0.1, configured as cvkit configures the clusters
    it starts (a lost worker's task comes back to the client at once); shared by the tests that need workers."""
    from distributed import Client, LocalCluster

    from cvkit.core.reproduce import _owned_scheduler_config

    with _owned_scheduler_config():
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as lc, Client(lc, set_as_default=False) as client:
            yield client


def dask_on(client) -> ExecutorOptions:
    return ExecutorOptions("dask", scheduler=client.scheduler.address, connect_timeout_s=60)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grid-chapters")
    return [load_chapter(make_chapter_notebook(tmp / "01_value.ipynb", SEEDED_VALUE), "Fixtures"),
            load_chapter(make_chapter_notebook(tmp / "02_paired.ipynb", SEEDED_PAIRED), "Fixtures")]


def claims_and_verdicts(report) -> list:
    """What must not depend on the executor: every chapter's status and combined claims, every seed's claims."""
    keys = ("id", "verdict", "expected", "n", "mean", "ci", "values", "combined")
    combined = [(c.name, c.status, c.seeds, [{k: cl.get(k) for k in keys} for cl in c.claims]) for c in report.chapters]
    per_seed = {s: [(r.name, r.status, [(cl["id"], cl["verdict"], cl["mean"], cl["ci"]) for cl in r.claims])
                    for r in run.chapters] for s, run in report.runs.items()}
    return [combined, per_seed, [(t.chapter, t.seed, t.status, t.attempts) for t in report.tasks]]


def test_dask_grid_equals_the_local_grid(cluster, seeded, tmp_path):
    local = reproduce_grid(seeded, out=tmp_path / "local", scale="smoke", seeds="0-1", device="cpu", jobs=2,
                           progress=False)
    dask = reproduce_grid(seeded, out=tmp_path / "dask", scale="smoke", seeds=[0, 1], device="cpu",
                          executor=dask_on(cluster), progress=False)
    assert local.ok and dask.ok, (local.chapters, dask.chapters)
    assert claims_and_verdicts(dask) == claims_and_verdicts(local)
    (value, gain) = dask.chapters
    assert value.claims[0]["n"] == 2 and value.claims[0]["verdict"] == REPRODUCED and value.claims[0]["unit"] == "seed"
    assert gain.claims[0]["kind"] == "difference" and "seeds 0, 1" in gain.claims[0]["combined"]
    # the per-seed reports and notebooks are where the grid's report links them
    md = (tmp_path / "dask" / "report.md").read_text()
    for s in (0, 1):
        assert f"[{s}](seed-{s}/report.md)" in md and (tmp_path / "dask" / f"seed-{s}" / "report.md").exists()
        assert (tmp_path / "dask" / f"seed-{s}" / "notebooks" / "value.ipynb").exists()
        assert json.loads((tmp_path / "dask" / f"seed-{s}" / "report.json").read_text())["seed"] == s
    # every task names the worker that ran it, with the versions it ran
    workers = {t.worker["worker"] for t in dask.tasks}
    assert all(w.startswith("tcp://127.0.0.1:") for w in workers)
    assert all(t.worker["environment"] == runtime_environment() for t in dask.tasks)
    assert "## Tasks" in md and "tcp://127.0.0.1:" in md
    assert {t.worker["worker"] for t in local.tasks} == {"local"}


def test_a_crashing_task_is_isolated_and_a_lost_worker_is_retried_once(cluster, tmp_path):
    broken = load_chapter(make_chapter_notebook(tmp_path / "01_broken.ipynb", CRASHING))
    lost = load_chapter(make_chapter_notebook(tmp_path / "02_lost.ipynb", killer(tmp_path / "killed-once")))
    ghost = Chapter(name="ghost", path=tmp_path / "nowhere.ipynb", part="", title="Ghost", module=None, paper=None)
    report = reproduce_grid([broken, lost, ghost], out=tmp_path / "out", scale="smoke", seeds=[0], device="cpu",
                            executor=dask_on(cluster), progress=False)
    tasks = {t.chapter: t for t in report.tasks}
    assert (tmp_path / "killed-once").exists()  # the first attempt did kill its worker
    assert tasks["broken"].status == CRASHED and tasks["broken"].attempts == 1 and not tasks["broken"].retried
    assert tasks["lost"].status == PASSED and tasks["lost"].attempts == 2
    ghost = report.runs[0].chapters[2]  # a task whose function raised on the worker: crashed, the others went on
    assert ghost.status == CRASHED and "the task raised CvkitError" in ghost.failure["error"]
    assert "is not on host" in ghost.failure["error"]
    assert "worker was lost" in tasks["lost"].retried
    md = (tmp_path / "out" / "report.md").read_text()
    assert "Retried tasks:" in md and "lost seed 0: its worker was lost" in md
    assert "RuntimeError: broken on purpose" in (tmp_path / "out" / "seed-0" / "report.md").read_text()
    assert report.exit_code == 1


def test_an_environment_mismatch_is_refused_before_anything_runs(cluster, seeded, tmp_path, monkeypatch):
    import cvkit

    monkeypatch.setattr(cvkit, "__version__", "9.9.9")  # the client only: the workers are other processes
    with pytest.raises(CvkitError, match=r"the workers do not run the client's environment: worker tcp://127\.0\.0\.1:"
                                         r"\d+ has cvkit '0\.1\.0', the client '9\.9\.9'"):
        reproduce_grid(seeded, out=tmp_path / "out", scale="smoke", seeds=[0], device="cpu",
                       executor=dask_on(cluster), progress=False)
    assert not (tmp_path / "out" / "report.json").exists() and not (tmp_path / "out" / "seed-0").exists()
    with pytest.raises(CvkitError, match="has git commit"):
        check_workers(cluster, {**runtime_environment(), "git commit": "0" * 40}, 10)


def test_a_worker_with_another_environment_refuses_its_task(seeded):
    task = grid_tasks(seeded, "smoke", [0])[0]
    res = run_task(task, device="cpu", expected_env={**runtime_environment(), "torch": "1.0.0"})
    assert res.result.status == CRASHED and res.notebook is None
    assert res.result.failure["error"].startswith("environment mismatch: worker local has torch")


def test_unreachable_scheduler_is_one_clear_error(tmp_path, seeded):
    import socket

    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    options = ExecutorOptions("dask", scheduler=f"tcp://127.0.0.1:{port}", connect_timeout_s=2)
    with pytest.raises(CvkitError, match=rf"cannot reach the Dask scheduler at tcp://127.0.0.1:{port} within 2 s"):
        reproduce_grid(seeded, out=tmp_path / "o", scale="smoke", seeds=[0], device="cpu", executor=options,
                       progress=False)


def test_noop_grid_on_the_local_pool(tmp_path, seeded):
    report = reproduce_grid(seeded, out=tmp_path, scale="smoke", seeds="3,5", device="cpu", jobs=2, progress=False,
                            task_fn=noop_task)
    assert [(t.chapter, t.seed) for t in report.tasks] == [("value", 3), ("paired", 3), ("value", 5), ("paired", 5)]
    assert sorted(report.runs) == [3, 5] and (tmp_path / "seed-5" / "notebooks" / "paired.ipynb").exists()


def test_interrupting_the_local_grid_writes_a_partial_report(tmp_path, seeded):
    """Ctrl-C while the second task runs: the first two tasks count, the two not started are `interrupted`."""
    import os
    import signal
    import time

    from cvkit.core.reproduce import RunInterrupted

    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is handled elsewhere in this process")
    calls = []

    def interrupt_on_second(task, **kw):
        calls.append(task.key)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends; the main thread is waiting for results
            time.sleep(1)  # still running when the interrupt arrives
        return noop_task(task, **kw)

    with pytest.raises(RunInterrupted, match="interrupted: 2 of 4 task"):
        reproduce_grid(seeded, out=tmp_path, scale="smoke", seeds="0-1", device="cpu", jobs=1, progress=False,
                       task_fn=interrupt_on_second)
    data = json.loads((tmp_path / "report.json").read_text())
    assert [t["status"] for t in data["tasks"]] == [PASSED, PASSED, INTERRUPTED, INTERRUPTED]
    assert (tmp_path / "seed-0" / "report.md").exists() and len(calls) == 2


@pytest.mark.parametrize("text,seeds", [("0-4", [0, 1, 2, 3, 4]), ("0,2,5", [0, 2, 5]), ("7", [7]),
                                        (" 0-1 , 9 ", [0, 1, 9])])
def test_parse_seeds(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text,message", [("4-0", "runs backwards; write 0-4"), ("-1", "'-1' is not a seed"),
                                          ("0-2,1", "seed(s) 1 given more than once"), ("", "at least one seed"),
                                          ("a-b", "'a-b' is not a seed"), ("0-5000", "more than 1000 seeds"),
                                          ("1.5", "'1.5' is not a seed")])
def test_bad_seeds(text, message):
    with pytest.raises(CvkitError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_seeds(text)


def _seed_claims(values_by_seed, spec, scale="smoke", measure=replicates):
    return {s: [decide(spec, measure(v), scale).to_dict()] for s, v in values_by_seed.items()}


def test_combine_seeds_decides_over_the_seeds_point_values():
    spec = ClaimSpec("x", "x is above one", "value", ">=", {"smoke": (1.0, REPRODUCED)})
    per_seed = _seed_claims({0: [1.5, 1.7, 1.6], 1: [1.4, 1.5, 1.3], 2: [1.8, 1.6, 2.0]}, spec)
    (claim,) = combine_seeds(per_seed)
    assert claim["n"] == 3 and claim["values"] == [pytest.approx(1.6), pytest.approx(1.4), pytest.approx(1.8)]
    direct = decide(spec, replicates([1.6, 1.4, 1.8]), "smoke")  # exactly the kit's rule on the seeds' means
    assert claim["verdict"] == direct.verdict == REPRODUCED and claim["ci"] == pytest.approx(list(direct.ci))
    assert claim["per_seed"]["1"]["verdict"] == REPRODUCED and claim["missing_seeds"] == []
    assert "(n = 3, 3, 3)" in claim["combined"]


def test_combine_seeds_keeps_the_kind_and_the_rule_for_compared_claims():
    spec = ClaimSpec("g", "treatment beats baseline", "score", ">", {"laptop": (0.0, REPRODUCED)}, compared=True)
    per_seed = {s: [decide(spec, paired([1.0 + s / 10, 1.2, 1.1, 1.3, 1.0], [0.5] * 5), "laptop").to_dict()]
                for s in range(2)}
    (claim,) = combine_seeds(per_seed)
    assert claim["kind"] == "difference" and claim["verdict"] == UNDECIDED and "n ≥ 5" in claim["note"]
    assert claim["undecidable"]  # two seeds can never decide a compared claim at laptop


def test_combine_seeds_with_a_claim_missing_on_a_seed_and_nothing_measured():
    spec = ClaimSpec("x", "x", "value", ">=", {"smoke": (1.0, REPRODUCED)})
    per_seed = _seed_claims({0: [2.0, 2.1], 1: [2.2, 2.0]}, spec)
    per_seed[2] = []
    (claim,) = combine_seeds(per_seed)
    assert claim["missing_seeds"] == [2] and claim["n"] == 2
    from cvkit.core.claims import NOT_CHECKABLE, NotMeasured

    nm = {0: [decide(spec, NotMeasured("no data"), "smoke").to_dict()]}
    (claim,) = combine_seeds(nm)
    assert claim["verdict"] == NOT_CHECKABLE and "no data" in claim["note"]


def test_judge_grid_chapter_takes_the_worst_status_and_leaves_crashed_seeds_out():
    spec = ClaimSpec("x", "x", "value", ">=", {"smoke": (1.0, REPRODUCED)})
    ch = Chapter(name="c", path=None, part="p", title="C", module=None, paper=None)
    ok = {s: failed_result(ch, PASSED, "") for s in (0, 1)}
    for s, r in ok.items():
        r.failure = None
        r.claims = [decide(spec, replicates([2.0 + s / 10, 2.1, 2.3]), "smoke").to_dict()]
    crashed = failed_result(ch, CRASHED, "RuntimeError: boom")
    grid = judge_grid_chapter({**ok, 2: crashed})
    assert grid.status == CRASHED and grid.excluded_seeds == [2] and grid.claims[0]["n"] == 2
    assert "seed 2: crashed (RuntimeError: boom)" in grid.problems
    assert judge_grid_chapter(ok).status == PASSED
    # a run that failed (a verdict off its pin) counts, unless one of its sanity checks failed
    off = failed_result(ch, FAILED, "")
    off.failure, off.claims = None, [decide(spec, replicates([2.5, 2.4, 2.6]), "smoke").to_dict()]
    assert judge_grid_chapter({**ok, 3: off}).claims[0]["n"] == 3
    off.checks = [{"id": "trains", "holds": False}]
    grid = judge_grid_chapter({**ok, 3: off})
    assert grid.excluded_seeds == [3] and grid.claims[0]["n"] == 2
    # a claim a counted seed did not record is named, not silently dropped from n
    short = failed_result(ch, PASSED, "")
    short.failure = None
    grid = judge_grid_chapter({**ok, 4: short})
    assert grid.claims[0]["n"] == 2 and "seed 4: claim x missing" in grid.problems


def test_environment_and_gpu_helpers():
    env = runtime_environment()
    assert env["torch"] and env["cvkit"] and env["python"]
    assert environment_mismatches({"w": env}, env) == []
    assert environment_mismatches({"w": {**env, "torch CUDA": "12.4"}}, env) == [
        f"worker w has torch CUDA '12.4', the client {env['torch CUDA']!r}"]
    assert gpu_devices(0, 1) == "0" and gpu_devices(2, 2) == "4,5"
    with pytest.raises(ValueError):
        gpu_devices(0, 0)


@pytest.mark.parametrize("kwargs,message", [
    ({"kind": "spark"}, "unknown executor 'spark': expected one of local, dask, dask-local, slurm"),
    ({"kind": "dask"}, "--executor dask needs --scheduler tcp://HOST:PORT"),
    ({"kind": "dask", "scheduler": "http://x:1"}, "is not an address like tcp://HOST:PORT"),
    ({"kind": "local", "workers": 2}, "--workers is for --executor dask-local or slurm, not local"),
    ({"kind": "dask-local", "scheduler": "tcp://a:1"}, "--scheduler is for --executor dask, not dask-local"),
    ({"kind": "slurm", "gpus_per_job": 0}, "--gpus-per-job must be a positive integer"),
    ({"kind": "slurm", "walltime": "1h"}, "--walltime '1h' is not"),
    ({"kind": "dask", "scheduler": "tcp://a:1", "connect_timeout_s": 0}, "--connect-timeout must be"),
])
def test_executor_options_refuse_bad_input(kwargs, message):
    with pytest.raises(CvkitError, match=message.replace("[", r"\[").replace("]", r"\]")):
        ExecutorOptions(**kwargs)


def test_slurm_options_and_the_missing_extra():
    opts = ExecutorOptions("slurm", queue="gpu", gpus_per_job=2, walltime="0-01:30:00", workers=10)
    kw = slurm_cluster_kwargs(opts)
    assert kw["queue"] == "gpu" and kw["walltime"] == "0-01:30:00" and kw["job_extra_directives"] == ["--gres=gpu:2"]
    assert kw["processes"] == 1 and "--nthreads" in kw["worker_extra_args"]
    try:
        import dask_jobqueue  # noqa: F401
    except ImportError:
        with pytest.raises(CvkitError, match=r"needs dask-jobqueue, an optional extra: pip install dask-jobqueue=="):
            slurm_cluster_class()


def test_jobs_is_for_the_local_executor(tmp_path, seeded):
    with pytest.raises(CvkitError, match="--jobs is for the local executor"):
        reproduce_grid(seeded, out=tmp_path, scale="smoke", seeds=[0], executor=ExecutorOptions("dask-local"), jobs=2)


def test_grid_gpu_hours():
    chapters = [Chapter(name=f"c{i}", path=None, part="", title="", module=None, paper=None) for i in range(20)]
    assert grid_gpu_hours(chapters, 5) == 20 * 5 * 1800 / 3600 == 50.0
    assert grid_gpu_hours(chapters[:2], 1, "smoke") == 2 * 60 / 3600


def test_readme_gpu_hours_are_the_budgets_of_the_full_grid():
    """The README's cost of the full grid (20 chapters × 5 seeds) is computed from the gpu budget, not typed in."""
    import re

    from cvkit.core.reproduce import TIMEOUT_FACTOR
    from conftest import ROOT

    text = (ROOT / "README.md").read_text()
    section = text.split("## Reproducing on a cluster")[1].split("\n## ")[0]
    chapters = [Chapter(name=f"c{i}", path=None, part="", title="", module=None, paper=None) for i in range(20)]
    hours = grid_gpu_hours(chapters, 5)
    assert f"**{hours:g} GPU-hours**" in section
    assert f"{hours * TIMEOUT_FACTOR:g} GPU-hours bounds" in section
    for executor in ("--executor dask-local", "--executor slurm", "--executor dask --scheduler tcp://"):
        assert re.search(rf"^cvkit reproduce .*{re.escape(executor)}", section, re.M), executor


def _stored_run(folder, seed, status=PASSED, error=None, scale="smoke", values=(2.0, 2.1, 2.3), sanity=True):
    "A one-chapter, one-claim report written the way `reproduce` writes it; `sanity`: whether its one check holds."
    from cvkit.core.claims import sanity_check
    from cvkit.core.reproduce import ChapterResult, Report, write_report
    spec = ClaimSpec("x", "x", "value", ">=", {scale: (1.0, REPRODUCED)})
    res = ChapterResult("c", "C", "p", None, status, 1.0, None,
                        claims=[] if status == CRASHED and error is None else
                        [decide(spec, replicates([v + seed / 10 for v in values]), scale).to_dict()],
                        failure={"error": error} if error else None,
                        checks=[sanity_check("trains", "the model trains", 1.0 if sanity else 0.0, ">=", 0.5).to_dict()])
    write_report(Report(scale, seed, "cpu", 1, {"git": {"commit": f"c{seed}"}}, [res]), folder)
    return folder


def test_grid_from_stored_reports_counts_runs_stopped_at_their_pin_check(tmp_path):
    "Stored one-seed reports decided again over the seeds; a run stopped only at its pin check still counts."
    from cvkit.core.reproduce import grid_from_reports, load_report, stopped_at_pin_check, write_grid_report
    a = _stored_run(tmp_path / "a", 0)
    b = _stored_run(tmp_path / "b", 1, status=CRASHED, error="AssertionError: claims that do not hold: x: undecided")
    c = _stored_run(tmp_path / "c", 2, status=CRASHED, error="RuntimeError: boom")  # a real crash: no claims, left out
    grid = grid_from_reports([c, a, b])
    assert grid.seeds == [0, 1, 2] and grid.executor == "stored reports"
    ch = grid.chapters[0]
    assert ch.status == CRASHED and ch.excluded_seeds == [2] and ch.claims[0]["n"] == 2
    assert ch.claims[0]["per_seed"].keys() == {"0", "1"}
    assert [t.worker["environment"]["git commit"] for t in grid.tasks] == ["c0", "c1", "c2"]
    assert stopped_at_pin_check(load_report(b).chapters[0]) and not stopped_at_pin_check(load_report(c).chapters[0])
    write_grid_report(grid, tmp_path / "grid")
    md = (tmp_path / "grid" / "report.md").read_text()
    assert "[1](seed-1/report.md)" in md
    # the header names every seed's commit and calls the time the runs' summed wall time; a note explains the links
    assert "summed wall time of the runs" in md and "seed 0: `c0`, seed 1: `c1`, seed 2: `c2`" in md
    assert "point nowhere" in md and "`crashed` by design" in md
    # a failed sanity check raises the same error text as the pin check: that run is left out
    d = _stored_run(tmp_path / "d0", 3, status=CRASHED, sanity=False,
                    error="AssertionError: claims that do not hold: sanity check trains failed")
    assert not stopped_at_pin_check(load_report(d).chapters[0])
    ch = grid_from_reports([a, b, d]).chapters[0]
    assert ch.excluded_seeds == [3] and ch.claims[0]["n"] == 2 and ch.claims[0]["per_seed"].keys() == {"0", "1"}
    with pytest.raises(ValueError, match="at least two"):
        grid_from_reports([a])
    with pytest.raises(ValueError, match="same seed"):
        grid_from_reports([a, _stored_run(tmp_path / "a2", 0)])
    with pytest.raises(ValueError, match="mix scales"):
        grid_from_reports([a, _stored_run(tmp_path / "d", 3, scale="laptop")])



def test_cvkit_grid_prints_the_per_seed_table_the_grid_and_the_pooled_reading(tmp_path, capsys):
    "`cvkit grid` on stored runs: each seed's verdict, the kit's grid, the pooled replicates and the written report."
    from cvkit.core.cli import main
    a, b = _stored_run(tmp_path / "a", 0), _stored_run(tmp_path / "b", 1)
    assert main(["grid", str(a), str(b), "--pooled", "--leave-out", "--out", str(tmp_path / "g")]) == 0
    out = capsys.readouterr().out
    assert "seed 0 at c0, seed 1 at c1" in out
    assert "code, seed 1 against seed 0: unknown" in out  # the fake commits c0, c1 are not in this checkout
    assert "| x | reproduced 2.13 [" in out and "n=3 | reproduced 2.23 [" in out  # each seed's own mean
    pooled = out.split("pooled (secondary")[1]
    values = [2.0, 2.1, 2.3, 2.1, 2.2, 2.4]  # seed s adds s / 10 to every replicate
    assert f"x: reproduced {sum(values) / 6:.3g} [" in pooled and "n = 6" in pooled and "(unit: seed)" in pooled
    assert (tmp_path / "g" / "report.md").is_file()
    # bad input: one clear line, exit 2
    for argv, message in ((["grid", str(a)], "at least two"), (["grid", str(a), str(tmp_path)], "no report.json"),
                          (["grid", str(a), str(b), "--pooled", "--leave-out", "nope"], "do not have: ['nope']"),
                          (["grid", str(a), str(b), "--pooled"], "--pooled needs --leave-out"),
                          (["grid", str(a), str(b), "--leave-out", "x"], "add --pooled")):
        assert main(argv) == 2, argv
        assert message in capsys.readouterr().err, argv


def _result(claims: list[dict]) -> "ChapterResult":
    from cvkit.core.reproduce import ChapterResult
    return ChapterResult("c", "C", "p", None, PASSED, 1.0, None, claims=claims)


def test_pooled_claims_pools_what_it_can_and_says_why_not_the_rest():
    "Claims left out, measured differently, degenerate, constant or missing on a seed are not pooled, with a reason."
    from cvkit.core.claims import proportion
    from cvkit.core.reproduce import pooled_claims
    x = ClaimSpec("x", "x", "value", ">=", {"smoke": (1.0, REPRODUCED)})
    y = ClaimSpec("y", "y", "value", ">=", {"smoke": (5.0, REPRODUCED)})
    gain = ClaimSpec("gain", "g", "score", ">", {"smoke": (0.0, REPRODUCED)})
    rate = ClaimSpec("rate", "r", "rate", ">=", {"smoke": (0.5, REPRODUCED)})
    runs = {s: _result([decide(x, replicates([1.5 + s, 1.6, 1.7]), "smoke").to_dict(),
                        decide(gain, paired([1.0, 1.0, 1.0], [0.0, 0.0, 0.0]), "smoke").to_dict(),  # constant
                        decide(rate, replicates([0.6, 0.7, 0.8]) if s == 0 else proportion([1] * 8 + [0] * 2), "smoke").to_dict()]
                       + ([decide(y, replicates([1.0, 1.1]), "smoke").to_dict()] if s == 0 else []))
            for s in (0, 1)}
    pooled, skipped = pooled_claims(runs)
    assert [c["id"] for c in pooled] == ["x"] and pooled[0]["n"] == 6
    assert abs(pooled[0]["mean"] - (1.5 + 1.6 + 1.7 + 2.5 + 1.6 + 1.7) / 6) < 1e-12
    assert skipped["y"] == "not recorded on every seed"
    assert "same value" in skipped["gain"] and "differently (kind, unit" in skipped["rate"]
    pooled, skipped = pooled_claims(runs, frozenset({"x"}))
    assert pooled == [] and skipped["x"] == "left out by name"
    assert pooled_claims({}) == ([], {})
    at_chance = {s: _result([decide(x, replicates([1.5, 1.6]), "smoke").to_dict() | {"note": "degenerate: ..."}])
                 for s in (0, 1)}
    assert pooled_claims(at_chance)[1] == {"x": "degenerate on some seed (see its note)"}


def test_cvkit_grid_reproduces_the_committed_focusmae_grid_reading(capsys):
    "On the committed FocusMAE laptop runs the command gives the grid script's pooled reading."
    from pathlib import Path

    from cvkit.core.cli import main
    root = Path(__file__).resolve().parents[1] / "reports" / "laptop"
    folders = [str(root / d) for d in ("focusmae", "focusmae-seed1", "focusmae-seed2")]
    assert main(["grid", *folders, "--pooled", "--leave-out", "roi-share-closed-form"]) == 0
    out = capsys.readouterr().out
    committed = (root / "focusmae-grid" / "grid.out").read_text()
    assert "focus-beats-tube             undecided         2.100 [-2.999, 7.199] n = 15" in committed
    pooled = out.split("pooled (secondary")[1]
    assert "focus-beats-tube: undecided 2.1 [-3, 7.2] n = 15" in pooled
    assert "video-beats-images: not reproduced -12.8 [-16.1, -9.52] n = 15" in pooled
    assert "roi-share-closed-form: not pooled: left out by name" in pooled


def test_code_changes_counts_code_not_prose(tmp_path):
    "Changed code-cell lines and changed core and module files between two commits of a scratch repository."
    import subprocess

    from cvkit.core.reproduce import code_changes, module_file

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    git("config", "user.email", "t@t"), git("config", "user.name", "t")
    (tmp_path / "cvkit" / "core").mkdir(parents=True)
    (tmp_path / "cvkit" / "papers").mkdir(parents=True)

    def commit(code: str, prose: str, core: str, paper: str) -> str:
        nb = {"cells": [{"cell_type": "markdown", "source": prose}, {"cell_type": "code", "source": code}]}
        (tmp_path / "ch.ipynb").write_text(json.dumps(nb))
        (tmp_path / "cvkit" / "core" / "m.py").write_text(core)
        (tmp_path / "cvkit" / "papers" / "ch.py").write_text(paper)
        git("add", "-A"), git("commit", "-qm", "x")
        return git("rev-parse", "HEAD").strip()

    module = module_file("cvkit.papers.ch")
    assert module == "cvkit/papers/ch.py" and module_file(None) is None
    c0 = commit("a = 1\nb = 2", "Prose.", "x = 1\n", "p = 1\n")
    c1 = commit("a = 1\nb = 2", "Other prose.", "x = 1\n", "p = 1\n")
    c2 = commit("a = 1\nb = 3\n-- c", "Other prose.", "x = 2\ny = 3\n", "p = 2\n")
    assert code_changes(c0, c1, "ch.ipynb", module, tmp_path) == {"code cells": 0}
    assert code_changes(c0, c2, "ch.ipynb", module, tmp_path) == {"code cells": 3, "cvkit/core/m.py": 3,
                                                                  "cvkit/papers/ch.py": 2}
    assert code_changes(c0, "f" * 40, "ch.ipynb", module, tmp_path) is None
    assert code_changes(c0, c2, "ch.ipynb", "cvkit/papers/nope.py", tmp_path) is None  # a wrong module path
