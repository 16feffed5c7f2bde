"""Exit codes of ``python -m musicgen_ft.train``, for a supervisor or a shell loop.

An :class:`enum.IntEnum` so each has a fixed value (a new code never renumbers the others) and
compares equal to the plain integer the process exits with.
"""

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """Why a training process ended."""

    #: finished, or stopped cleanly by SIGTERM/SIGINT after writing ``last.ckpt``
    OK = 0
    #: unexpected error (traceback in the log)
    ERROR = 1
    #: configuration or input error (the message names the key or file)
    CONFIG = 2
    #: halted by the divergence monitor (see ``halt.json`` and ``alerts.jsonl``)
    HALTED = 3
    #: budget exhausted (``last.ckpt`` written; raise ``budget_usd`` to continue)
    BUDGET = 4
    #: a checkpoint could not be written (disk full, permissions); the previous one is intact
    SAVE_FAILED = 5
    #: the week-5 milestone decided NO-GO (``milestone/ABORT.md``; checkpoints kept)
    NO_GO = 6
    #: CUDA out of memory with a micro-batch of one sample, or under torchrun (where the
    #: smaller micro-batch takes effect at the restart)
    OOM = 7
