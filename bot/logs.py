"""structlog: JSON lines in production, readable lines in a terminal; secrets never printed.

Job id and ticket key are bound with `structlog.contextvars`, so every line a job
causes carries them. Libraries that log through the standard library (aiohttp, nats,
asyncio) are rendered by the same processors, redaction included: the message with its
arguments and the exception text. aiohttp's "Error handling request" lines quote the raw
request line and header values (`?token=...`, `Authorization: ...`), so they need it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

REDACTED = "***"
# Names whose values are secret wherever they appear in a log line.
SECRET_NAMES = re.compile(r"(token|secret|password|passwd|api_key|apikey|authorization|hash)", re.IGNORECASE)
# Secret-looking parts of free text, each with what it becomes: `?token=...` in a URL,
# `Bearer ...` / `Basic ...` credentials, and any `Authorization:` header value (its scheme kept).
SECRET_PATTERNS = (
    (re.compile(r"(?i)(\bauthorization:[ \t]*(?:[A-Za-z]+[ \t]+)?)[^\s\"'\\]+"), rf"\g<1>{REDACTED}"),
    (re.compile(r"(?i)((?:token|secret|key|password)=)[^&\s\"']+"), rf"\g<1>{REDACTED}"),
    (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+"), rf"\g<1> {REDACTED}"),
)
# Standard-library records below this level are dropped (aiohttp's access log, nats' chatter).
LIBRARY_LEVEL = logging.WARNING

_known_secrets: tuple[str, ...] = ()


def configure_logging(level: str = "info", output: str = "auto", secrets: Iterable[str] = ()) -> None:
    global _known_secrets
    # Longest first, so a secret containing another is replaced whole.
    _known_secrets = tuple(sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True))
    as_json = output == "json" or (output == "auto" and not sys.stderr.isatty())
    renderer: Any = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _redact_event,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LIBRARY_LEVEL)


def redact(text: str) -> str:
    """Remove configured secrets and secret-looking URL/header parts from a string."""
    for secret in _known_secrets:
        text = text.replace(secret, REDACTED)
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event.items():
        event[key] = _redact_value(key, value)
    return event


def _redact_value(name: str, value: Any) -> Any:
    if SECRET_NAMES.search(name) and value not in (None, "", False):
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_value(str(key), item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_value("", item) for item in value]
    return value
