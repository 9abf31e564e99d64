"""Augment: a self-hosted, event-driven Jira bot."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("augment")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0"
