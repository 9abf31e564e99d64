"""The one error of the JQL engine, and the way Jira words and places a syntax error."""

from __future__ import annotations


class JqlError(ValueError):
    """Malformed or unsupported JQL. str(err) is the message Jira would put in errorMessages."""


def syntax_error(source: str, index: int | None, message: str) -> JqlError:
    """Jira's parse error, placed at ``index`` (1-based line and character) unless at the end."""
    if index is None:
        return JqlError(f"Error in the JQL Query: {message}")
    line, character = position(source, index)
    return JqlError(f"Error in the JQL Query: {message} (line {line}, character {character})")


def position(source: str, index: int) -> tuple[int, int]:
    return source.count("\n", 0, index) + 1, index - source.rfind("\n", 0, index)


def one_line(text: str) -> str:
    # Jira quotes offending text on one line.
    return text.replace("\n", " ").replace("\r", " ")
