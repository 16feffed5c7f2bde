"""scan: one row per file, errors as rows, resume after SIGKILL to the same CSV, crash-proof pool."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from logdrum.dataset.batch import run_batch
from logdrum.dataset.scan import SCAN_FIELDS

from mtat_fixture import REPO, link_tree, read_csv, run_cli
import crashy


def _data_rows(path):
    return path.read_text().splitlines()


def test_scan_cli_gives_every_file_a_row_and_carries_on_after_bad_ones(mtat, tmp_path):
    root, clips = mtat
    out = tmp_path / "scores.csv"
    proc = run_cli("scan", root, root / "0" / "not_there.mp3", "--out", out, "--workers", 2, check=0)
    rows = read_csv(out)
    assert list(rows[0]) == ["path", "size", "mtime_ns", *SCAN_FIELDS]
    files = [c for c in clips if c.kind != "missing"]
    assert len(rows) == len(files) + 1
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows)
    errors = {os.path.basename(r["path"]): r["error"] for r in rows if r["error"]}
    assert len(errors) == 3 and "not_there.mp3" in errors
    assert any("truncated" in e for e in errors.values()) and any("empty" in e for e in errors.values())
    good = [r for r in rows if not r["error"]]
    assert len(good) == len(files) - 2 and all(0 <= float(r["score"]) <= 1 for r in good)
    assert all(r["sr"] == "16000" and r["channels"] == "1" for r in good)
    assert "3 errors" in proc.stdout


@pytest.fixture(scope="module")
def many_files(mtat, tmp_path_factory):
    """78 files (24 of them broken)."""
    root, _ = mtat
    d = tmp_path_factory.mktemp("many")
    return d, link_tree(root, d, copies=6)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_interrupted_scan_resumes_to_the_same_csv(many_files, tmp_path, sig):
    audio, n = many_files
    run_cli("scan", audio, "--out", tmp_path / "reference.csv", "--workers", 2, "--no-progress", check=0)
    reference = (tmp_path / "reference.csv").read_text()
    out = tmp_path / "resumed.csv"
    cmd = [sys.executable, "-m", "logdrum", "scan", str(audio), "--out", str(out),
           "--workers", "2", "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=REPO, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and len(_data_rows(out)) - 1 >= 10:
            break
        time.sleep(0.005)
    # to the whole process group: a lost machine, or Ctrl+C in a terminal
    os.killpg(proc.pid, sig)
    rc = proc.wait(timeout=60)
    assert rc == (130 if sig == signal.SIGINT else -signal.SIGKILL), f"exit code {rc}"
    partial = _data_rows(out)
    assert 10 <= len(partial) - 1 < n, "the scan was not interrupted mid-way"
    assert len(set(partial)) == len(partial)

    resumed = run_cli("scan", audio, "--out", out, "--workers", 2, "--no-progress", check=0)
    done = len({line.split(",")[0] for line in partial[1:]})
    assert f"{done} of {n} files already done" in resumed.stderr  # finished rows are not rescored
    assert out.read_text().splitlines() == reference.splitlines()


def test_a_torn_last_line_is_dropped_and_rescored(mtat, tmp_path):
    root, _ = mtat
    link_tree(root, tmp_path / "audio")
    out = tmp_path / "scores.csv"
    run_cli("scan", tmp_path / "audio", "--out", out, "--workers", 1, check=0)
    reference = out.read_text()
    lines = reference.splitlines(keepends=True)
    # a kill in the middle of writing row 5: rows 5.. are gone, half of row 5 is on disk
    out.write_text("".join(lines[:5]) + lines[5][: len(lines[5]) // 2])
    run_cli("scan", tmp_path / "audio", "--out", out, "--workers", 1, check=0)
    assert out.read_text() == reference


def test_a_worker_that_dies_costs_one_error_row(tmp_path):
    paths = []
    for i in range(12):
        p = tmp_path / (f"crash_{i}.bin" if i == 5 else f"ok_{i}.bin")
        p.write_bytes(b"x" * (i + 1))
        paths.append(str(p))
    rows = run_batch(paths, crashy.crash_on_marker, results=tmp_path / "r.csv", fields=["value"],
                     workers=2, progress=False)
    assert [r["path"] for r in rows] == paths
    for i, r in enumerate(rows):
        if i == 5:
            assert "worker process died" in r["error"] and r["value"] == ""
        else:
            assert r["error"] == "" and r["value"] == str(i + 1)


def test_a_worker_that_dies_slowly_costs_one_error_row_too(tmp_path):
    # The suspect's death was once noticed a wait after the engine had left suspect mode
    # (``alone`` reset while the suspect was still running): the file went back to the
    # suspects for ever, one new process every few seconds. Run in a subprocess with a
    # timeout so that such a loop fails the test instead of hanging the suite.
    import subprocess
    import sys
    import textwrap

    for i in range(4):
        (tmp_path / (f"crash_{i}.bin" if i == 2 else f"ok_{i}.bin")).write_bytes(b"x" * (i + 1))
    code = textwrap.dedent(f"""
        import glob, json, sys
        sys.path.insert(0, {os.path.dirname(crashy.__file__)!r})
        import crashy
        from logdrum.dataset.batch import run_batch
        paths = sorted(glob.glob({str(tmp_path / "*.bin")!r}))
        rows = run_batch(paths, crashy.crash_on_marker_slowly, fields=["value"], workers=2, progress=False)
        print(json.dumps([[r["path"].rsplit("/", 1)[1], r["value"], bool(r["error"])] for r in rows]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    assert rows == [["crash_2.bin", "", True], ["ok_0.bin", "1", False], ["ok_1.bin", "2", False],
                    ["ok_3.bin", "4", False]]


@pytest.mark.parametrize("dask", [None, "local"])
def test_worker_processes_analyse_long_files_on_one_thread(tmp_path, dask):
    # a worker a core: a long file's analysis starting threads of its own would oversubscribe
    if dask:
        pytest.importorskip("distributed")
    paths = []
    for i in range(3):
        (tmp_path / f"{i}.bin").write_bytes(b"x")
        paths.append(str(tmp_path / f"{i}.bin"))
    rows = run_batch(paths, crashy.numba_threads, fields=["value", "parallel"], workers=2, dask=dask,
                     progress=False)
    assert [(r["value"], r["parallel"]) for r in rows] == [("1", "0")] * 3  # booleans are 0/1 in the CSV


def test_a_second_run_on_the_same_results_file_is_refused(tmp_path):
    from logdrum.dataset.batch import ResultsFile

    (tmp_path / "a.bin").write_bytes(b"abc")
    out = tmp_path / "r.csv"
    with ResultsFile(out, ["value"]):
        with pytest.raises(RuntimeError, match="another running batch"):
            run_batch([str(tmp_path / "a.bin")], crashy.crash_on_marker, results=out,
                      fields=["value"], workers=1, progress=False)
    rows = run_batch([str(tmp_path / "a.bin")], crashy.crash_on_marker, results=out,
                     fields=["value"], workers=1, progress=False)
    assert rows[0]["value"] == "3"
    with pytest.raises(ValueError, match="other columns"):
        run_batch([str(tmp_path / "a.bin")], crashy.crash_on_marker, results=out,
                  fields=["other"], workers=1, progress=False)
