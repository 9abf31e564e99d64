"""Fixtures that start real servers on loopback; each lives in tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.nats",
    "tests.fixtures.service",
    "tests.fixtures.sandbox",
    "tests.fixtures.browser",
]
