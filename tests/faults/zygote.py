"""Fast restarts for the kill-anywhere campaign: a process that imports torch, transformers and
musicgen_ft once, then forks one child per start; the child runs exactly what
``python -m musicgen_ft.train --config CONFIG`` runs (:func:`musicgen_ft.train.main`).

Why: a fresh ``python -m musicgen_ft.train`` spends ~3 s of CPU (6-13 s on a loaded 2-core
machine) importing torch and transformers before it touches the run folder, and the run itself
then takes well under a second per start. What a kill tests lives on disk, and the child is a
separate process that dies by SIGKILL like any other; only the imports are shared. The campaign
also runs some starts as the real command (``fresh=True``) to keep the two honest.

Protocol (one line each way): the harness writes ``CONFIG OUTFILE``; the server answers
``pid N`` when the child started and ``exit CODE`` when it ended (``-9``: SIGKILL).
"""

import os
import signal
import sys


def preload():
    """Import what a training start imports, without running anything that starts threads."""
    import matplotlib

    matplotlib.use("Agg")
    import soundfile  # noqa: F401
    import soxr  # noqa: F401
    import torch.utils.tensorboard  # noqa: F401
    from transformers import (EncodecConfig, MusicgenConfig,  # noqa: F401
                              MusicgenDecoderConfig, MusicgenForConditionalGeneration, T5Config)

    import evaluation  # noqa: F401
    import musicgen_ft.loop  # noqa: F401
    import musicgen_ft.train  # noqa: F401


def child(config, outfile):
    fd = os.open(outfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    code = 1
    try:
        from musicgen_ft.train import main

        code = main(["--config", config])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)


def serve():
    preload()
    print("ready", flush=True)
    for line in sys.stdin:
        config, outfile = line.split()
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            child(config, outfile)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        print(f"exit {code}", flush=True)


if __name__ == "__main__":
    serve()
