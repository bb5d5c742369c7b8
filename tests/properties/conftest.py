"""Hypothesis profiles for the property and fuzz tests.

- "ci" (the default): tens of examples per op, deterministic (derandomize), no deadline.
- "deep": thousands of examples per op; select with HYPOTHESIS_PROFILE=deep
  (tools/deep_properties.py does, and prints the counts).
- "dev": like ci but random and with the example database, for local bug hunting.

PROPERTIES_MAX_EXAMPLES=N overrides the profile's examples per test (time-boxed deep runs).

Tests scale their own example counts from the active profile with `scaled()`.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from tests.properties import stats

_COMMON = dict(
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
PROFILES = {
    "ci": dict(max_examples=25, derandomize=True, database=None, **_COMMON),
    "dev": dict(max_examples=25, **_COMMON),
    "deep": dict(max_examples=2000, database=None, **_COMMON),
}
if os.environ.get("PROPERTIES_MAX_EXAMPLES"):
    for _kw in PROFILES.values():
        _kw["max_examples"] = int(os.environ["PROPERTIES_MAX_EXAMPLES"])
for _name, _kw in PROFILES.items():
    settings.register_profile(_name, **_kw)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


def scaled(factor: float, minimum: int = 1) -> settings:
    """Settings with the active profile's max_examples times `factor`."""
    return settings(max_examples=max(minimum, int(settings.default.max_examples * factor)))


def pytest_sessionfinish(session, exitstatus):
    stats.dump()
