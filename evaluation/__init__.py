"""evaluation: the authenticity metric, baseline comparison, cost dashboard and GO/NO-GO report.

>>> import evaluation
>>> r = evaluation.authenticity("samples/")          # doctest: +SKIP
>>> evaluation.compare(baseline_result, r).summary()  # doctest: +SKIP

Importing the package pulls in numpy only; each other public name loads its module on first
use (the detector, numba and scipy with the first measurement): matplotlib is imported when a
plot is drawn, tensorboard when a run without ``metrics.jsonl`` is read, torch only by
:func:`evaluation.fad.torch_module_embedder`. Command line: ``python -m evaluation --help``.
"""

import importlib

# These two share their name with their module, so they are bound here (an import of the
# submodule would otherwise shadow the function); both load only numpy.
from .authenticity import AuthenticityResult, ClipResult, authenticity
from .compare import Comparison, compare

#: public name -> the module that defines it, imported on first use (PEP 562): ``import
#: evaluation.criteria`` or ``evaluation.run_folder`` (the fine-tune's config and commands need
#: them) then does not load the detector (numba) and scipy.
_HOME = {
    "cost_report": "cost", "CostReport": "cost",
    "go_no_go": "decision", "Decision": "decision", "Reason": "decision", "Thresholds": "decision",
    "frechet_distance": "fad", "frechet_audio_distance": "fad",
    "build_report": "report", "Report": "report",
    "read_run": "run_reader", "RunRecord": "run_reader", "Alert": "run_reader",
    "wilson_interval": "stats", "newcombe_interval": "stats", "two_proportion_test": "stats",
}


def __getattr__(name):
    if name not in _HOME:
        raise AttributeError(f"module 'evaluation' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value          # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "authenticity", "AuthenticityResult", "ClipResult",
    "compare", "Comparison",
    "go_no_go", "Decision", "Reason", "Thresholds",
    "read_run", "RunRecord", "Alert",
    "cost_report", "CostReport",
    "build_report", "Report",
    "frechet_distance", "frechet_audio_distance",
    "wilson_interval", "newcombe_interval", "two_proportion_test",
]
