"""Package-level promises: light import, doctests of the public functions."""

import doctest
import subprocess
import sys

import pytest

import evaluation


def test_import_pulls_no_torch_matplotlib_tensorboard():
    code = ("import sys, evaluation; heavy = [m for m in ('torch', 'matplotlib', 'tensorboard') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("module", ["stats", "compare", "cost", "decision", "fad", "authenticity"])
def test_doctests(module):
    import importlib

    mod = importlib.import_module(f"evaluation.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_public_names():
    for name in evaluation.__all__:
        assert hasattr(evaluation, name), name
