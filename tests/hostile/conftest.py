"""The hostile-input tests share the hypothesis profiles of tests/properties."""

from tests.properties import stats
from tests.properties.conftest import PROFILE, scaled  # noqa: F401  (registers and loads the profiles)


def pytest_sessionfinish(session, exitstatus):
    stats.dump()
