import platform

import pytest
import torch

from cvkit.core.provenance import (FOOTPRINT_MIME, collect_provenance, cpu_model, cuda_peak_mb, footprint, git_state,
                                   machine_info, package_versions, peak_rss_mb, utc_now)


def test_git_state_in_and_outside_a_checkout(root, tmp_path):
    state = git_state(root)
    assert state["commit"] is None or len(state["commit"]) == 40
    assert git_state(tmp_path) == {"commit": None, "dirty": None}


def test_package_versions():
    v = package_versions(["torch", "numpy", "not-a-real-distribution-xyz"])
    assert v["torch"].split("+")[0] == torch.__version__.split("+")[0]
    assert v["not-a-real-distribution-xyz"] is None


def test_machine_info():
    info = machine_info()
    assert info["python"] == platform.python_version()
    assert isinstance(cpu_model(), str) and cpu_model()
    assert info["gpu"] is None or isinstance(info["gpu"], str)
    assert (info["gpu"] is None) == (not torch.cuda.is_available())


def test_memory():
    assert peak_rss_mb() > 10
    assert peak_rss_mb("children") >= 0
    with pytest.raises(ValueError):
        peak_rss_mb("parent")
    assert (cuda_peak_mb() is None) == (not torch.cuda.is_available())


def test_footprint_and_provenance():
    fp = footprint()
    assert fp["wall_s"] > 0 and fp["peak_rss_mb"] > 10
    prov = collect_provenance(seed=3, scale="smoke", device="cpu")
    assert prov["seed"] == 3 and prov["scale"] == "smoke" and prov["packages"]["numpy"]
    assert utc_now().endswith("+00:00")
    assert FOOTPRINT_MIME.startswith("application/vnd.cvkit")
