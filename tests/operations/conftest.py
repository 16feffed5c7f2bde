"""Fixtures for the operations tests (helpers live in ops_helpers.py)."""

import pytest
import torch

from ops_helpers import make_dataset

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def ops_data(tmp_path_factory):
    """A tiny on-disk dataset (6 synthetic groove clips) shared by the tests that only read it."""
    return make_dataset(tmp_path_factory.mktemp("ops_data"))


@pytest.fixture(scope="session")
def ops_cache(tmp_path_factory):
    """One EnCodec code cache for every tiny run (encoding once saves time on two cores)."""
    return tmp_path_factory.mktemp("ops_cache")


@pytest.fixture
def spawn():
    """``spawn(module, *args, env_extra=...)``: a real subprocess, killed if a test leaves it."""
    from ops_helpers import start

    procs = []

    def run(*args, **kwargs):
        procs.append(start(*args, **kwargs))
        return procs[-1]
    yield run
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.communicate()
