"""The numba kernels never index outside their arrays (numba does not check by default, so a
bad index is silent memory corruption or a crash). Run the detector over awkward rates and
lengths in a subprocess compiled with bounds checking on."""

import os
import subprocess
import sys

SCRIPT = r"""
import numpy as np, logdrum
from logdrum import synth
rng = np.random.default_rng(0)
for sr in (8000, 9999, 11025, 11999, 22049, 48000, 384000):
    for n in (1, 2, 3, 21, 22, 23, 500, 4000):
        logdrum.analyze(rng.standard_normal(n), sr)
        logdrum.analyze(np.r_[1.0, np.zeros(n - 1)], sr)
    logdrum.analyze(synth.groove(sr, bars=1), sr)
    logdrum.analyze(np.stack([synth.log_drum(sr, 60.0, 0.5, duration=0.26)] * 2), sr)
print("ok")
"""


def test_no_out_of_bounds_access(tmp_path):
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"
