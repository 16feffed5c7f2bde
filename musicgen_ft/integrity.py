"""Torn and foreign files in a run directory: found at start-up, set aside, recovered.

Atomic writes keep a kill from tearing what the run writes, but a dying disk, a copy onto a
full disk, a hand edit or a restore from a bad backup can still leave a truncated, empty or
garbage copy of a file the run reads back. Each one found is met the same way: a WARNING alert
(code ``corrupt_file``) that names the file, the problem and the recovery; the bad copy kept
beside it as ``<name>.corrupt`` for diagnosis; and a recovery:

=========================  ===============================================================
``last.ckpt``              the next older checkpoint (:meth:`CheckpointManager.load_latest`)
``epoch_{k}.ckpt``         set aside, so it neither counts among the kept ones nor is tried
``best_model.pt``          rebuilt from the ``best_model/`` export
``best_model/``            exported again from ``best_model.pt``
``metrics.jsonl``,         unreadable lines set aside, the rest kept, a torn last line ended;
``alerts.jsonl``           emptied files are reported (the loss curve or alert history is lost)
orchestrator_state.json    accounting restarts from zero (:class:`~.ops.cost_tracker.CostTracker`)
a code cache file          encoded again (:func:`~.data.encode_clips`)
=========================  ===============================================================

The checks are cheap (a zip's directory, a safetensors header, one pass over each JSONL log),
so the start-up of a run with multi-gigabyte checkpoints stays quick. They run on rank 0.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import zipfile
from pathlib import Path

from evaluation.run_folder import METRICS_FILE
from logdrum.io.atomic import atomic_write

log = logging.getLogger("musicgen_ft")

CORRUPT_SUFFIX = ".corrupt"


def set_aside(path):
    """Rename a file or folder to ``<name>.corrupt`` (replacing an older one).

    Returns
    -------
    Path or None
        The new name, or ``None`` when it could not be renamed (the caller's recovery still
        replaces the bad copy).
    """
    path = Path(path)
    target = path.with_name(path.name + CORRUPT_SUFFIX)
    try:
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(path, target)
    except OSError:
        return None
    return target


def warn(alerts, path, problem, recovery):
    """The one WARNING alert for a bad file: what is wrong and what the run does about it."""
    alerts.emit("WARNING", "corrupt_file", f"{path} is unusable ({problem}); {recovery}",
                path=str(path))


def zip_problem(path):
    """Why ``path`` is not a whole ``torch.save`` file, or ``None``.

    Reads only the zip directory at the end of the file, so a truncated, empty or foreign file
    is caught without loading gigabytes of tensors.
    """
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        return f"not a whole torch.save file: {exc}"
    if not any(n.endswith("/data.pkl") for n in names):
        return "a zip file, but not one torch.save wrote"
    return None


def _safetensors_problem(path):
    # layout: 8-byte little-endian header length, JSON header, then the tensor bytes; the
    # largest end offset in the header must reach exactly the end of the file
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                return f"{path.name} is {size} bytes, shorter than a safetensors header"
            (n,) = struct.unpack("<Q", head)
            if n > size - 8:
                return f"{path.name} header claims {n} bytes, the file has {size}"
            header = json.loads(f.read(n).decode("utf-8"))
        ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"]
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        return f"{path.name} has no readable safetensors header ({exc})"
    if 8 + n + max(ends, default=0) != size:
        return f"{path.name} is {size} bytes, its header needs {8 + n + max(ends, default=0)}"
    return None


def export_problem(folder):
    """Why ``folder`` is not a whole ``save_pretrained`` export, or ``None``.

    Checks that ``config.json`` is a JSON object and that every ``*.safetensors`` file has a
    readable header whose tensors fill the file exactly.
    """
    folder = Path(folder)
    try:
        config = json.loads((folder / "config.json").read_text())
        if not isinstance(config, dict):
            return "config.json is not a JSON object"
    except (OSError, ValueError) as exc:
        return f"config.json unreadable ({exc})"
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        return "no *.safetensors weights"
    for path in weights:
        problem = _safetensors_problem(path)
        if problem:
            return problem
    return None


def _write_lines_atomic(path, lines):
    with atomic_write(path, "wb") as f:
        f.writelines(line + b"\n" for line in lines)


def repair_jsonl(path):
    """Keep the JSON-object lines of a JSONL log; set the rest aside.

    A file whose every line parses is left alone, except that a torn last line (no newline
    at the end) is ended, so the next record starts on a line of its own. Otherwise the
    original is copied to ``<name>.corrupt`` and the file is rewritten with its good lines.

    Returns
    -------
    int
        How many lines were set aside (0 when the file was whole or does not exist).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    good, bad = [], 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            ok = isinstance(json.loads(line.decode("utf-8")), dict)
        except ValueError:      # UnicodeDecodeError is a ValueError too
            ok = False
        if ok:
            good.append(line)
        else:
            bad += 1
    if bad:
        shutil.copyfile(path, path.with_name(path.name + CORRUPT_SUFFIX))
        _write_lines_atomic(path, good)
    elif data and not data.endswith(b"\n"):
        with open(path, "ab") as f:
            f.write(b"\n")
    return bad


def check_before_resume(ckpts, alerts, cost, run_dir):
    """Rank 0, before a checkpoint is loaded: the files that do not need the model.

    Sets aside torn ``epoch_{k}.ckpt`` files, repairs ``alerts.jsonl`` and ``metrics.jsonl``,
    reports alerts missing from ``alerts.jsonl`` (fewer than ``orchestrator_state.json``
    counted) and an unreadable ``orchestrator_state.json`` (counting the alerts again from
    ``alerts.jsonl``).
    """
    from .ops.alerts import read_alerts

    run_dir = Path(run_dir)
    alerts_bad = repair_jsonl(alerts.path)      # first: every later alert lands on a clean line
    held = len(read_alerts(alerts.path))
    if alerts_bad:
        warn(alerts, alerts.path, f"{alerts_bad} unreadable line(s)",
             f"set aside in {alerts.path.name}{CORRUPT_SUFFIX}, the readable alerts kept")
    elif held < alerts.count:      # the count comes from orchestrator_state.json
        warn(alerts, alerts.path, f"{held} alert(s) left of the {alerts.count} this run raised",
             "the missing alerts are lost; new ones are appended")
    if cost.problem:
        set_aside(cost.path)
        alerts.count = held + int(bool(alerts_bad))
        warn(alerts, cost.path, cost.problem,
             f"accounting restarts from $0 (the bad copy is kept as {cost.path.name}"
             f"{CORRUPT_SUFFIX}); check the cloud bill for the time spent so far")
    metrics = run_dir / METRICS_FILE
    bad = repair_jsonl(metrics)
    if bad:
        warn(alerts, metrics, f"{bad} unreadable line(s)",
             f"set aside in {metrics.name}{CORRUPT_SUFFIX}, the readable records kept")
    for path in ckpts.epoch_checkpoints():
        problem = zip_problem(path)
        if problem:
            set_aside(path)
            warn(alerts, path, problem, f"set aside as {path.name}{CORRUPT_SUFFIX}; resume "
                                        f"and the keep-last rotation skip it")


def check_after_resume(ckpts, alerts, backend, run_dir, global_step, meta):
    """Rank 0, after a checkpoint was read and before its weights are loaded into the model.

    Reports an emptied ``metrics.jsonl`` and recovers ``best_model.pt`` and
    ``best_model/`` from each other (this loads other weights into the model: the caller loads
    the checkpoint's weights afterwards).

    Parameters
    ----------
    meta : dict
        Written into a rebuilt ``best_model.pt`` (val loss, config).
    """
    from .metrics import read_metrics

    metrics = Path(run_dir) / METRICS_FILE
    if global_step > 0 and not any(r.get("kind") == "train" for r in read_metrics(metrics)):
        warn(alerts, metrics, f"no training records although the run is at step {global_step}",
             "the records before this restart are lost; new ones are appended")
    recover_best(ckpts, alerts, backend, meta)


def recover_best(ckpts, alerts, backend, meta):
    """Rebuild whichever of ``best_model.pt`` and ``best_model/`` is torn from the other.

    Raises
    ------
    SaveError
        When the rebuilt copy cannot be written (the CRITICAL alert is out; exit code 5).
    """
    pt, export = ckpts.best, ckpts.best_export
    pt_problem = zip_problem(pt) if pt.exists() else None
    export_bad = export_problem(export) if export.exists() else None
    if pt_problem:
        set_aside(pt)
    if export_bad:
        set_aside(export)
    if pt_problem and export.exists():
        warn(alerts, pt, pt_problem, "rebuilt from best_model/")
        _pt_from_export(ckpts, backend, meta)
    elif export_bad and pt.exists():
        warn(alerts, export, export_bad, "exported again from best_model.pt")
        _export_from_pt(ckpts, backend)
    elif pt_problem or export_bad:
        for path, problem in ((pt, pt_problem), (export, export_bad)):
            if problem:
                warn(alerts, path, problem, "no good copy to rebuild it from: the best model "
                                            "comes back at the next improving validation")


def _pt_from_export(ckpts, backend, meta):
    from safetensors.torch import load_file

    from .model import trainable_state

    weights = {}
    for path in sorted(ckpts.best_export.glob("*.safetensors")):
        weights.update(load_file(path))
    wanted = trainable_state(backend.model)
    state = {k: weights[k].to(v.dtype) for k, v in wanted.items() if k in weights}
    if len(state) != len(wanted):
        ckpts.alerts.emit("WARNING", "corrupt_file", "best_model/ lacks trained weights; "
                          "best_model.pt comes back at the next improving validation")
        return
    ckpts.save_best(state, {**meta, "rebuilt_from": "best_model/"})


def _export_from_pt(ckpts, backend):
    import torch

    from .model import load_trainable_state

    try:
        best = torch.load(ckpts.best, map_location="cpu", weights_only=True)
        load_trainable_state(backend.model, best["model"])
    except Exception as exc:   # a zip whose contents are broken: nothing to export from
        ckpts.alerts.emit("WARNING", "corrupt_file", f"best_model.pt unreadable ({exc}); "
                          f"best_model/ comes back at the next improving validation")
        return
    ckpts.export_best(backend.model, backend.tokenizer)   # SaveError: exit 5, as in the loop
