import os

from hypothesis import HealthCheck, settings

# Analysis of a clip takes milliseconds, but the first call compiles the numba kernels.
settings.register_profile(
    "logdrum", deadline=None, max_examples=int(os.environ.get("LOGDRUM_HYPOTHESIS_EXAMPLES", 40)),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("logdrum")
