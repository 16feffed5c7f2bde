"""evaluation: the authenticity metric, baseline comparison, cost dashboard and GO/NO-GO report.

>>> import evaluation
>>> r = evaluation.authenticity("samples/")          # doctest: +SKIP
>>> evaluation.compare(baseline_result, r).summary()  # doctest: +SKIP

Importing the package pulls in numpy, scipy and logdrum only: matplotlib is imported when a plot
is drawn, tensorboard when a run without ``metrics.jsonl`` is read, torch only by
:func:`evaluation.fad.torch_module_embedder`. Command line: ``python -m evaluation --help``.
"""

from .authenticity import AuthenticityResult, ClipResult, authenticity
from .compare import Comparison, compare
from .cost import CostReport, cost_report
from .decision import Decision, Reason, Thresholds, go_no_go
from .fad import frechet_audio_distance, frechet_distance
from .report import Report, build_report
from .run_reader import Alert, RunRecord, read_run
from .stats import newcombe_interval, two_proportion_test, wilson_interval

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
