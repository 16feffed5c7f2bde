"""A work function for the batch engine that really kills its worker process on some files."""

import os


def crash_on_marker(path):
    if "crash" in os.path.basename(path):
        os._exit(3)  # what a segfault in a decoder or the OOM killer looks like to the pool
    return {"value": os.path.getsize(path)}
