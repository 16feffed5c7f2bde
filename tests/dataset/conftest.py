import pytest

from mtat_fixture import build_mtat_tree


@pytest.fixture(scope="session")
def mtat(tmp_path_factory):
    """``(root, clips)`` of a miniature MTAT tree shared by the dataset tests (read-only!)."""
    root = tmp_path_factory.mktemp("mtat")
    return root, build_mtat_tree(root)
