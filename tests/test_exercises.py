import numpy as np
import pytest
import torch

from cvkit.core.exercises import check_exercise


def unattempted(x):
    raise NotImplementedError


def test_outcomes(capsys):
    cases = [(np.arange(4.0),), (np.ones((2, 2)),)]
    assert check_exercise(unattempted, np.square, cases) == "not attempted"
    assert "✏️" in capsys.readouterr().out
    assert check_exercise(lambda x: torch.tensor(x) ** 2, np.square, cases) == "correct"
    assert "shape" in check_exercise(lambda x: x.ravel() ** 2, np.square, cases, verbose=False)
    assert "differs" in check_exercise(lambda x: x ** 2 + 1e-3, np.square, cases, verbose=False)
    assert "raised ZeroDivisionError" in check_exercise(lambda x: 1 / 0, np.square, cases, verbose=False)


def test_needs_cases():
    with pytest.raises(ValueError):
        check_exercise(np.square, np.square, [])
