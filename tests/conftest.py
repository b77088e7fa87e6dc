"""Settings for the whole suite."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# The machines that run this suite are small and shared: timing-based health checks would
# fail a correct property for being slow, so they are off; examples stay deterministic.
settings.register_profile(
    "yui",
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("yui")
