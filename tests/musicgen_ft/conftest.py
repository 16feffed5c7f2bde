"""Fixtures for the musicgen_ft tests (helpers live in ft_helpers.py)."""

import pytest

from ft_helpers import make_dataset


@pytest.fixture(scope="session")
def dataset(tmp_path_factory):
    """A tiny on-disk dataset shared by the tests that only read it."""
    return make_dataset(tmp_path_factory.mktemp("data"))
