"""The Dask path gives the same rows as the local process pool."""

import pytest

from logdrum.dataset.scan import scan

from mtat_fixture import read_csv, run_cli

distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def cluster():
    # two workers as threads of this process: a real scheduler and real workers over TCP,
    # without paying for two more Python start-ups
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                                  host="127.0.0.1",
                                  dashboard_address=None) as c:
        yield c


def test_dask_rows_equal_local_rows(mtat, tmp_path, cluster):
    root, _ = mtat
    local = scan([root], tmp_path / "local.csv", workers=2, progress=False)
    remote = scan([root], tmp_path / "dask.csv", dask=cluster.scheduler_address, progress=False)
    assert remote == local
    assert (tmp_path / "dask.csv").read_text() == (tmp_path / "local.csv").read_text()
    # the empty and the truncated clip (the truncated CBR clip decodes: build-dataset's length
    # check, not the scan, excludes it)
    assert sum(bool(r["error"]) for r in remote) == 2


def test_dask_scan_from_the_command_line_resumes(mtat, tmp_path, cluster):
    root, clips = mtat
    out = tmp_path / "scores.csv"
    run_cli("scan", root, "--out", out, "--dask", cluster.scheduler_address, check=0)
    first = out.read_text()
    again = run_cli("scan", root, "--out", out, "--dask", cluster.scheduler_address, check=0)
    assert "already done" in again.stderr and out.read_text() == first
    assert len(read_csv(out)) == len([c for c in clips if c.kind != "missing"])


def test_dask_local_starts_its_own_cluster(mtat, tmp_path):
    root, _ = mtat
    run_cli("scan", root, "--out", tmp_path / "local.csv", "--workers", 2, "--no-progress", check=0)
    run_cli("scan", root, "--out", tmp_path / "dask.csv", "--dask", "local", "--workers", 2,
            "--no-progress", check=0)
    assert (tmp_path / "dask.csv").read_text() == (tmp_path / "local.csv").read_text()
