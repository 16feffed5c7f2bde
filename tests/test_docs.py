"""The docs stay true to the code: every public name is in docs/api.md, the example notebook runs
top to bottom, the figure script draws the figures the guide shows, and the links resolve."""

import csv
import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
API = (DOCS / "api.md").read_text(encoding="utf-8")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

#: Modules whose ``__all__`` api.md documents, each under its own ``## `module``` heading.
DOCUMENTED_MODULES = [
    "logdrum", "logdrum.synth", "logdrum.plot", "logdrum.dataset.score", "logdrum.dataset.tags",
    "logdrum.io.audio", "logdrum.io.atomic", "logdrum.dataset.scan", "logdrum.dataset.build",
    "logdrum.dataset.validate", "logdrum.dataset.batch", "logdrum.dataset.mtat", "logdrum.demo",
    "evaluation", "evaluation.fad", "evaluation.plots", "evaluation.run_folder",
    "musicgen_ft.demo",
]
#: The 0.1 module paths, each an alias of its new home (docs/api.md, "Where things live").
ALIASES = {"logdrum.score": "logdrum.dataset.score", "logdrum.tags": "logdrum.dataset.tags",
           "logdrum.audio_io": "logdrum.io.audio", "logdrum.scan": "logdrum.dataset.scan",
           "logdrum.validate_dataset": "logdrum.dataset.validate",
           "logdrum.batch": "logdrum.dataset.batch", "logdrum.mtat": "logdrum.dataset.mtat"}
#: The fine-tune's entry points (its modules have no ``__all__``).
MUSICGEN_FT_ENTRY_POINTS = [
    "musicgen_ft.train.main", "musicgen_ft.config.load_config", "musicgen_ft.config.TrainConfig",
    "musicgen_ft.config.ConfigError", "musicgen_ft.model.build_model", "musicgen_ft.model.Backend",
    "musicgen_ft.data.read_metadata", "musicgen_ft.checkpoint.load_checkpoint",
    "musicgen_ft.checkpoint.CheckpointManager", "musicgen_ft.loop.Trainer",
    "musicgen_ft.exit_codes.ExitCode",
]


def section(module):
    """The text of api.md under the heading of ``module`` (up to the next heading)."""
    m = re.search(rf"^#+ `{re.escape(module)}`\s*$", API, flags=re.M)
    assert m, f"docs/api.md has no heading for `{module}`"
    nxt = re.search(r"^#+ ", API[m.end():], flags=re.M)
    return API[m.end(): m.end() + nxt.start() if nxt else len(API)]


@pytest.mark.parametrize("old,new", sorted(ALIASES.items()))
def test_old_module_paths_still_import_as_the_same_module(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)
    assert f"`{old}`" in API


def test_logdrum_dataset_still_exports_what_api_md_documents():
    import logdrum.dataset
    from logdrum.dataset import build

    for name in ("build_dataset", "METADATA_FILE", "METADATA_FIELDS"):
        assert getattr(logdrum.dataset, name) is getattr(build, name)


def plain_signature(obj):
    sig = inspect.signature(obj)
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


@pytest.mark.parametrize("module", DOCUMENTED_MODULES)
def test_every_public_name_is_in_api_md(module):
    mod = importlib.import_module(module)
    text = section(module)
    missing = [n for n in mod.__all__ if not re.search(rf"`{re.escape(n)}[`(]", text)]
    assert not missing, f"{module}: not in docs/api.md: {missing}"


@pytest.mark.parametrize("module", ["logdrum", "evaluation"])
def test_top_level_signatures_match(module):
    mod = importlib.import_module(module)
    text = section(module)
    for name in mod.__all__:
        obj = getattr(mod, name)
        if inspect.isfunction(obj):
            documented = f"`{name}{plain_signature(obj)}`"
            assert documented in text, f"docs/api.md should show {documented}"


def test_musicgen_ft_entry_points_exist_and_are_documented():
    text = section("musicgen_ft")
    for dotted in MUSICGEN_FT_ENTRY_POINTS:
        module, name = dotted.rsplit(".", 1)
        assert hasattr(importlib.import_module(module), name), dotted
        assert f"`{dotted}" in text, f"{dotted} is not in docs/api.md"


def _subcommands(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return sorted(action.choices)
    return []


def test_every_subcommand_is_documented():
    from evaluation.cli import build_parser as evaluation_parser
    from logdrum.cli import build_parser as logdrum_parser

    for prefix, parser in (("logdrum", logdrum_parser()), ("python -m evaluation", evaluation_parser())):
        commands = _subcommands(parser)
        assert commands
        for cmd in commands:
            assert f"`{prefix} {cmd}" in API, f"`{prefix} {cmd}` is not in docs/api.md"


def _links(path):
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if not re.match(r"[a-z]+://", target):
            yield target


@pytest.mark.parametrize("doc", ["guide.md", "api.md"])
def test_relative_links_resolve(doc):
    missing = [t for t in _links(DOCS / doc) if not (DOCS / t).exists()]
    # docs/operations.md is being written for issue 6; until it lands the link is pending
    pending = {"operations.md"}
    if missing and set(missing) <= pending:
        pytest.skip(f"waiting for {sorted(missing)}")
    assert not missing, f"docs/{doc} links to missing files: {missing}"


def assert_png(path):
    import matplotlib.image as mpimg

    data = Path(path).read_bytes()
    assert data[:8] == PNG_MAGIC, path
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 400, (path, img.shape)
    assert float(np.std(img)) > 0.02, f"{path} is blank"


def test_quickstart_runs_top_to_bottom(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, str(DOCS / "examples" / "quickstart.py")], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = tmp_path / "quickstart_out"
    assert_png(out / "groove.png")
    with open(out / "scores.csv", newline="") as fh:
        rows = {Path(r["path"]).name: r for r in csv.DictReader(fh)}
    assert len(rows) == 6 and not any(r["error"] for r in rows.values())
    score = {name.split("_", 1)[1]: float(r["score"]) for name, r in rows.items()}
    assert score["amapiano_groove.wav"] >= 0.5
    for name in ("groove_without_log_drums.wav", "tight_kick.wav", "held_bass_note.wav", "pink_noise.wav"):
        assert score[name] < 0.5, name
    # the notebook cells are there for an editor to find
    assert (DOCS / "examples" / "quickstart.py").read_text().count("# %%") >= 5


def test_make_figures_draws_what_the_guide_shows(tmp_path):
    proc = subprocess.run([sys.executable, str(DOCS / "make_figures.py"), "--out", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    printed = [Path(line).name for line in proc.stdout.split()]
    assert printed == ["three_sounds.png", "groove.png", "tau_sweep.png"]
    drawn = sorted(p.name for p in tmp_path.glob("*.png"))
    assert drawn == sorted(printed)
    for name in drawn:
        assert_png(tmp_path / name)
    # the guide shows exactly the figures the script draws, and they are committed
    shown = set(re.findall(r"figures/([\w.-]+\.png)", (DOCS / "guide.md").read_text()))
    assert shown == set(drawn)
    committed = sorted(p.name for p in (DOCS / "figures").glob("*.png"))
    assert committed == drawn
