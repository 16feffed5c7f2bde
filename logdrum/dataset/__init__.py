"""The dataset jobs: score clips, scan folders, build and validate a training set.

``build_dataset``, ``METADATA_FILE`` and ``METADATA_FIELDS`` live in :mod:`logdrum.dataset.build`
and are re-exported here, where docs/api.md has always documented them.
"""

from .build import METADATA_FIELDS, METADATA_FILE, build_dataset

__all__ = ["build_dataset", "METADATA_FILE", "METADATA_FIELDS"]
