"""Config and input errors, as a user meets them: the real ``python -m musicgen_ft.train`` in a
subprocess ends with ONE line on stderr that names the key and what to do, exit code 2, no
traceback, and nothing started; ``python -m musicgen_ft.preflight`` shows the same problem as
a ✗ line.
"""

import json
import subprocess
import sys

import pytest

from musicgen_ft.config import load_config
from musicgen_ft.ops.checks import check_dataset
from musicgen_ft.exit_codes import ExitCode

from ft_helpers import REPO, tiny_config


def run_module(module, config, cwd=REPO):
    return subprocess.run([sys.executable, "-m", module, "--config", str(config)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def assert_one_clear_line(done, *words):
    assert done.returncode == ExitCode.CONFIG, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_shipped_tiny_config_from_a_fresh_clone_says_how_to_make_the_metadata(tmp_path):
    """The issue's report: from the repository root, with no dataset built yet."""
    config = json.loads((REPO / "musicgen_ft" / "configs" / "tiny.json").read_text())
    assert not (REPO / config["metadata_path"]).exists()   # as in a fresh clone
    config["run_dir"] = str(tmp_path / "run")
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(config))
    done = run_module("musicgen_ft.train", path)
    assert_one_clear_line(done, "'metadata_path'", config["metadata_path"], "does not exist",
                          "logdrum build-dataset")
    assert not (tmp_path / "run").exists()                   # nothing started


def write(path, content):
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


BAD_METADATA = {
    "missing": (lambda d: d / "nope.csv", ["does not exist", "logdrum build-dataset"]),
    "a folder": (lambda d: d, ["is a folder"]),
    "missing columns": (lambda d: write(d / "m.csv", "clip_id,path\nc1,a.wav\n"),
                        ["lacks the column(s) file_path, tags", "found: clip_id, path"]),
    "no rows": (lambda d: write(d / "m.csv", "clip_id,file_path,tags\n"),
                ["has a header but no clips"]),
    "empty file": (lambda d: write(d / "m.csv", ""), ["lacks the column(s) clip_id"]),
    "binary garbage": (lambda d: write(d / "m.csv", b"\xff\xfe\x00garbage\x9c"),
                       ["not a readable UTF-8 CSV"]),
}


@pytest.mark.parametrize("case", list(BAD_METADATA))
def test_bad_metadata_is_one_line_exit_2_in_train_and_a_cross_in_preflight(tmp_path, case):
    make, words = BAD_METADATA[case]
    data = tmp_path / "data"
    data.mkdir()
    config = tiny_config(tmp_path, make(data))
    done = run_module("musicgen_ft.train", config)
    assert_one_clear_line(done, "'metadata_path'", *words)
    assert not (tmp_path / "run").exists()
    check = check_dataset(load_config(config))   # the preflight's dataset line
    assert not check.ok and check.line().startswith("✗ dataset: config key 'metadata_path'")
    assert all(w in check.detail for w in words)


BAD_CONFIG = {
    "misspelt key": ({"bach_size": 4}, ["unknown config key 'bach_size'",
                                        "did you mean 'batch_size'?"]),
    "unknown key": ({"colour": "red"}, ["unknown config key 'colour'"]),
    "wrong type": ({"epochs": "5"}, ["'epochs'", "expected an integer, got '5'"]),
    "batch 0": ({"batch_size": 0}, ["'batch_size'", "must be > 0, got 0"]),
    "negative lr": ({"lr": -0.001}, ["'lr'", "must be > 0, got -0.001"]),
    "fraction": ({"val_fraction": 1.5}, ["'val_fraction'", "must be in [0, 1)"]),
}


@pytest.mark.parametrize("case", list(BAD_CONFIG))
def test_bad_config_values_are_one_line_exit_2(tmp_path, dataset, case):
    override, words = BAD_CONFIG[case]
    config = tiny_config(tmp_path, dataset)
    data = json.loads(config.read_text())
    config.write_text(json.dumps({**data, **override}))
    assert_one_clear_line(run_module("musicgen_ft.train", config), *words)
    assert not (tmp_path / "run").exists()


def test_preflight_command_shows_missing_metadata_as_a_cross(tmp_path):
    config = tiny_config(tmp_path, tmp_path / "absent" / "training_metadata.csv")
    done = run_module("musicgen_ft.preflight", config)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    crosses = [line for line in done.stdout.splitlines() if line.startswith("✗ dataset:")]
    assert len(crosses) == 1 and "does not exist" in crosses[0], done.stdout
    assert "logdrum build-dataset" in crosses[0]
