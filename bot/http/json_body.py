"""Reading a JSON request body: everything refused before a model sees it.

- An empty body is a missing body (422 `Field required`), whatever its Content-Type.
- The Content-Type must be `application/json` or a `+json` type such as
  `application/merge-patch+json` (415 otherwise). Without this, a page on another site
  could post a `text/plain` form to Augment: browsers send only form and text bodies
  across sites without a CORS preflight, and Augment grants none.
- JSON is UTF-8 (RFC 8259 §8.1): a `charset` other than utf-8 is 400, and so are bytes
  that are not UTF-8.
- 400 as well for text that is not JSON, including `NaN` and `Infinity` (Python reads them,
  JSON has no such values, and a 422 that echoed them back would not be JSON either); a
  number Python cannot hold as written (an integer over 4,300 digits, a float beyond
  ±1.8e308); nesting deeper than MAX_DEPTH; and an unpaired surrogate escape
  (`"\\ud800"`), which no UTF-8 text can carry.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from typing import Any

from aiohttp import web

# Request bodies here are a few levels deep (a Jira webhook with an ADF comment: about 20);
# the bound keeps parsing and validation far below Python's recursion limit.
MAX_DEPTH = 64
# application/json, or a structured-syntax suffix type such as application/merge-patch+json.
JSON_MEDIA_TYPE = re.compile(r"application/(?:[^/]+\+)?json")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class BodyRefused(Exception):
    """The body cannot be read as JSON: answer `status` with `detail`."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        raise BodyRefused(422, [{"loc": ["body"], "msg": "Field required", "type": "missing", "input": None}])
    _check_media_type(request)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BodyRefused(400, f"Body is not UTF-8: invalid byte at position {err.start}") from None
    value = _parse(text)
    _check_structure(value)
    return value


def _check_media_type(request: web.Request) -> None:
    media_type = request.content_type.lower()
    if not JSON_MEDIA_TYPE.fullmatch(media_type):
        given = request.headers.get("Content-Type", "none")
        raise BodyRefused(415, f"Unsupported Media Type: send the body as application/json (Content-Type: {given})")
    charset = request.charset
    if charset is None:
        return
    try:
        known = codecs.lookup(charset).name
    except LookupError:
        raise BodyRefused(400, f"Unknown charset {charset!r}: JSON bodies are UTF-8") from None
    if known != "utf-8":
        raise BodyRefused(400, f"Unsupported charset {charset!r}: JSON bodies are UTF-8")


def _parse(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as err:
        raise BodyRefused(400, f"Malformed JSON body: {err}") from None
    except RecursionError:
        raise BodyRefused(400, f"JSON body nested too deep: at most {MAX_DEPTH} levels") from None
    except ValueError as err:  # from the hooks below, or int() past 4,300 digits
        raise BodyRefused(400, f"Malformed JSON body: {_number_problem(err)}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"the number {text[:40]} is out of range")
    return number


def _number_problem(err: ValueError) -> str:
    message = str(err)
    if "integer string conversion" in message:
        return "an integer has more than 4300 digits"
    return message


def _check_structure(value: Any) -> None:
    """Depth and strings, one level at a time: no recursion, whatever the body."""
    if isinstance(value, str):
        _check_text(value)
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            raise BodyRefused(400, f"JSON body nested too deep: at most {MAX_DEPTH} levels")
        deeper: list[Any] = []
        for node in level:
            for key, item in node.items() if isinstance(node, dict) else enumerate(node):
                if isinstance(key, str):
                    _check_text(key)
                if isinstance(item, str):
                    _check_text(item)
                elif isinstance(item, (dict, list)):
                    deeper.append(item)
        level = deeper


def _check_text(text: str) -> None:
    if _SURROGATE.search(text):
        raise BodyRefused(400, "Malformed JSON body: a string holds an unpaired surrogate escape (\\ud800-\\udfff)")
