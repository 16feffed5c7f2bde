"""The training folder's contract: the names ``build-dataset`` writes and ``validate`` and the
fine-tune read. One definition here, so a writer and its readers cannot drift apart.

Layout of a build-dataset folder ``DIR`` (details in :mod:`logdrum.dataset.build`)::

    DIR/training_metadata.csv   the selected clips, best first (METADATA_FIELDS)
    DIR/audio/<name>.mp3         the selected audio
    DIR/scan_results.csv         every clip's scan row: the resumable work file
    DIR/summary.json             counts, the score cut, the clips that failed
    DIR/tag_counts.csv           tag counts among the selected and all clips
    DIR/score_histogram.png      scores of all clips and of the selected ones
"""

METADATA_FILE = "training_metadata.csv"
#: Columns of ``training_metadata.csv``: the plan's five, then the evidence behind the score.
METADATA_FIELDS = ("clip_id", "file_path", "amapiano_proxy_score", "tags", "duration",
                   "audio_score", "tag_prior", "n_events", "median_f0_hz", "median_tau_ms",
                   "mtat_path")
SUMMARY_FILE = "summary.json"
SCAN_RESULTS_FILE = "scan_results.csv"
TAG_COUNTS_FILE = "tag_counts.csv"
HISTOGRAM_FILE = "score_histogram.png"
AUDIO_DIR = "audio"
#: Default allowed relative deviation from the expected clip length (build and validate).
DEFAULT_TOLERANCE = 0.1
