import os
import random

import numpy as np
import pytest
import torch

from cvkit.core.settings import (SCALES, make_generators, torch_threads, pick_config, resolve_device, resolve_scale, seed_everything,
                                 set_offline, start_chapter)


def test_resolve_scale():
    assert resolve_scale("smoke") == "smoke"
    assert resolve_scale("GPU") == "gpu"
    assert resolve_scale("auto", cuda_available=False) == "smoke"
    assert resolve_scale("auto", cuda_available=True) == "gpu"
    assert resolve_scale("auto") == ("gpu" if torch.cuda.is_available() else "smoke")


@pytest.mark.parametrize("bad", ["huge", "", None, 3])
def test_resolve_scale_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="unknown scale"):
        resolve_scale(bad)


def test_scale_budgets_increase():
    budgets = [SCALES[s].budget_s for s in ("smoke", "laptop", "gpu")]
    assert budgets == [60, 900, 1800]  # DESIGN: smoke ≤ 60 s per chapter


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto", cuda_available=False).type == "cpu"
    assert resolve_device("auto", cuda_available=True).type == "cuda"
    assert resolve_device("cuda:1", cuda_available=True) == torch.device("cuda:1")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        resolve_device("cuda", cuda_available=False)
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu")
    with pytest.raises(TypeError):
        resolve_device(3)


def test_seed_everything_makes_all_generators_repeat():
    def draw():
        return random.random(), float(np.random.rand()), float(torch.rand(1))
    seed_everything(11)
    a = draw()
    seed_everything(11)
    assert draw() == a
    seed_everything(12)
    assert draw() != a


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_seed_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        seed_everything(bad)
    with pytest.raises(ValueError):
        make_generators(bad)


def test_make_generators_are_independent_of_global_state():
    rng, gen = make_generators(5)
    seed_everything(99)
    rng2, gen2 = make_generators(5)
    assert rng.integers(10**6) == rng2.integers(10**6)
    assert torch.equal(torch.rand(3, generator=gen), torch.rand(3, generator=gen2))


def test_set_offline():
    env = set_offline({"PATH": "x"})
    assert env["HF_HUB_OFFLINE"] == env["HF_DATASETS_OFFLINE"] == env["TRANSFORMERS_OFFLINE"] == "1"
    assert env["PATH"] == "x"


def test_pick_config():
    configs = {"smoke": 1, "laptop": 2, "gpu": 3}
    assert pick_config(configs, "laptop") == 2
    assert pick_config(configs, "auto") in (1, 3)
    with pytest.raises(KeyError, match="missing for scale"):
        pick_config({"smoke": 1}, "smoke")
    with pytest.raises(ValueError):
        pick_config(configs, "tiny")


def test_start_chapter(capsys):
    ctx = start_chapter("unit", "smoke", 4, "cpu")
    assert (ctx.scale, ctx.seed, ctx.device.type) == ("smoke", 4, "cpu")
    assert ctx.spec.budget_s == 60
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert "scale=smoke" in capsys.readouterr().out


def test_pins_are_enforced_in_batch_runs_only(monkeypatch):
    from cvkit.core.reproduce import worker_env
    from cvkit.core.settings import PINS_ENV, pins_enforced

    assert pins_enforced({PINS_ENV: "1"}) is True and pins_enforced({PINS_ENV: "0"}) is False
    assert pins_enforced(worker_env(1, base={})) is True  # `cvkit reproduce` workers check the pins
    assert pins_enforced({}) is False  # pytest is not papermill: an interactive-like process
    with pytest.raises(ValueError, match="CVKIT_CHECK_PINS must be '0' or '1', got 'yes'"):
        pins_enforced({PINS_ENV: "yes"})


def test_torch_threads_restores_the_count_even_when_the_block_raises():
    import torch
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError):
        with torch_threads(1):
            assert torch.get_num_threads() == 1
            raise RuntimeError("inside")
    assert torch.get_num_threads() == before
    with torch_threads(0):  # 0 leaves the setting alone
        assert torch.get_num_threads() == before
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="threads"):
            with torch_threads(bad):
                pass
