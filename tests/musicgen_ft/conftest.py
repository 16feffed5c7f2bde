"""Fixtures for the musicgen_ft tests (helpers live in ft_helpers.py)."""

import pytest

from ft_helpers import make_dataset


@pytest.fixture(scope="session")
def dataset(tmp_path_factory):
    """A tiny on-disk dataset shared by the tests that only read it."""
    return make_dataset(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    """The small dataset of the kill-and-resume tests (6 clips of 2.4 s)."""
    return make_dataset(tmp_path_factory.mktemp("resume_data"), n_clips=6, seconds=2.4)


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    """One EnCodec code cache for those runs: the tiny codec's codes are the same for all."""
    return tmp_path_factory.mktemp("shared_cache")
