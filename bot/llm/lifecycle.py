"""What the installed provider SDKs say about models: which exist, and when each ends.

Rules:
- Each SDK table is read once, at import, defensively: a table that is missing or has
  another shape in another SDK version yields nothing, never an error, and our own small
  tables below stand in. A model is known when an SDK or one of our tables names it.
- An SDK's end-of-life date wins over ours for the same model (the SDK is newer than us).
- A model is *deprecated* when a table names it; *retired* on and after its end-of-life
  date. A deprecated model without an announced date never retires here.
- The openai SDK ships its shutdown dates only as the generated docstring of `ChatModel`.
  We parse it: it is machine-written from OpenAI's API spec, one bullet per date in one
  fixed phrase, and a bullet we cannot read is skipped, so a changed format only loses
  dates to our own table instead of inventing any.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from datetime import date, datetime
from pathlib import Path

# Models offered even when an SDK's list is missing: each provider's current ones.
# Kimi (Moonshot) has no SDK: https://platform.moonshot.ai/docs/models (2026-11).
OWN_MODELS: dict[str, tuple[str, ...]] = {
    "openai": ("gpt-5.5", "gpt-5.4", "gpt-5.4-mini", "gpt-4.1", "gpt-4o", "gpt-4o-mini"),
    "claude": ("claude-sonnet-5", "claude-opus-4-8", "claude-sonnet-4-6", "claude-haiku-4-5"),
    "gemini": (
        "gemini-3.8-flash",
        "gemini-3.5-flash",
        "gemini-3.1-pro-preview",
        "gemini-3.1-flash-lite",
        "gemini-flash-latest",
        "gemini-pro-latest",
    ),
    "kimi": (
        "kimi-k2.6",
        "kimi-k2.5",
        "kimi-k2-thinking",
        "kimi-k2-thinking-turbo",
        "kimi-k2-turbo-preview",
        "kimi-k2-0905-preview",
        "kimi-latest",
        "moonshot-v1-8k",
        "moonshot-v1-32k",
        "moonshot-v1-128k",
        "moonshot-v1-auto",
    ),
}

_D = date.fromisoformat
# End-of-life dates where no SDK ships them, and fallbacks where one does. Sources:
# openai: the openai SDK 3.57 `ChatModel` docstring (https://developers.openai.com/api/docs/deprecations);
# claude: the anthropic SDK 2.14 `_data/deprecated_models.py`
#   (https://docs.anthropic.com/en/docs/resources/model-deprecations);
# gemini: https://ai.google.dev/gemini-api/docs/deprecations (2026-11; the 2.5 family was
#   extended from June to 2026-10-16, "no earlier than"); kimi: none announced.
OWN_END_OF_LIFE: dict[str, dict[str, date | None]] = {
    "openai": {
        **dict.fromkeys(("gpt-5", "gpt-5-mini", "gpt-5-nano", "o3"), _D("2026-12-11")),
        **dict.fromkeys(("gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini"), _D("2027-01-14")),
        **dict.fromkeys(("gpt-4.1-nano", "o4-mini", "o3-mini", "o1", "gpt-4-turbo", "gpt-4"), _D("2026-10-23")),
        **dict.fromkeys(("gpt-5.4-nano", "gpt-5.1"), _D("2027-04-01")),
    },
    "claude": {
        **dict.fromkeys(("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"), _D("2026-11-30")),
        **dict.fromkeys(("claude-opus-4-5", "claude-opus-4-5-20251101"), _D("2027-01-22")),
    },
    "gemini": {
        **dict.fromkeys(
            ("gemini-2.0-flash", "gemini-2.0-flash-001", "gemini-2.0-flash-lite", "gemini-2.0-flash-lite-001"),
            _D("2026-06-01"),
        ),
        **dict.fromkeys(("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"), _D("2026-10-16")),
        "gemini-3-pro-preview": _D("2026-03-09"),
    },
    "kimi": {},
}

# Names in the SDK lists that are not text-chat models (audio, search, images, speech, video, ...).
_NOT_CHAT = re.compile(r"audio|search|codex|vision|image|tts|transcribe|robotics|omni|banana|customtools")


def _sdk_source(module: str) -> ast.Module | None:
    """The parsed source of an SDK module, found without importing the SDK: importing the three
    SDKs costs a process about 60 MiB, and they load only when their provider is first used."""
    top, *parts = module.split(".")
    try:
        spec = importlib.util.find_spec(top)  # a top-level lookup imports nothing
        roots = list(spec.submodule_search_locations or []) if spec else []
        for root in roots:
            for candidate in (Path(root, *parts).with_suffix(".py"), Path(root, *parts, "__init__.py")):
                if candidate.is_file():
                    return ast.parse(candidate.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, ImportError):
        pass  # another SDK version or layout: no table, our own stands in
    return None


def _assignment(tree: ast.Module | None, name: str) -> tuple[ast.expr | None, str]:
    """The value assigned to `name` at module level, and the string literal just after it (the
    attribute's docstring, which is not kept at runtime)."""
    body = tree.body if tree else []
    for index, node in enumerate(body):
        targets = [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
        if not any(isinstance(target, ast.Name) and target.id == name for target in targets):
            continue
        following = body[index + 1] if index + 1 < len(body) else None
        docstring = ""
        if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
            docstring = str(following.value.value)
        return getattr(node, "value", None), docstring
    return None, ""


def _chat_models(module: str, name: str, prefix: str = "") -> tuple[str, ...]:
    """The strings of `name = Literal[...]` (or `Union[Literal[...], str]`) that are chat models."""
    value, _ = _assignment(_sdk_source(module), name)
    names = [node.value for node in ast.walk(value) if isinstance(node, ast.Constant)] if value else []
    return tuple(n for n in names if isinstance(n, str) and n.startswith(prefix) and not _NOT_CHAT.search(n))


def _human_date(text: str) -> date | None:
    """`November 30th, 2026` (the anthropic table) or `2026-11-30`; None when neither."""
    cleaned = re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", text.strip())
    for pattern in ("%B %d, %Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(cleaned, pattern).date()
        except ValueError:
            continue
    return None


def _anthropic_end_of_life() -> dict[str, date | None]:
    value, _ = _assignment(_sdk_source("anthropic._data.deprecated_models"), "DEPRECATED_MODELS")
    try:
        table = ast.literal_eval(value) if value is not None else {}
    except ValueError:
        return {}
    if not isinstance(table, dict):
        return {}
    return {model: _human_date(str(when)) for model, when in table.items() if isinstance(model, str)}


def _openai_docstring() -> str:
    return _assignment(_sdk_source("openai.types.shared.chat_model"), "ChatModel")[1]


_BULLET = re.compile(r'^((?:"[^"]+",?\s*)+):\s*(.*)$', re.DOTALL)
_SHUTDOWN = re.compile(r"shutdown date:\s*(\d{4}-\d{2}-\d{2})", re.IGNORECASE)


def parse_openai_deprecations(docstring: str) -> dict[str, date | None]:
    """`- "a", "b": Announced shutdown date: 2026-12-11. ...` → {a: date, b: date}.

    A bullet naming models without a date ("Not a supported model ID") marks them deprecated."""
    found: dict[str, date | None] = {}
    for bullet in re.split(r"\n\s*-\s+", "\n" + docstring):
        match = _BULLET.match(" ".join(bullet.split()))
        if not match:
            continue
        shutdown = _SHUTDOWN.search(match.group(2))
        when = _human_date(shutdown.group(1)) if shutdown else None
        for model in re.findall(r'"([^"]+)"', match.group(1)):
            found[model] = when
    return found


SDK_MODELS: dict[str, tuple[str, ...]] = {
    "openai": _chat_models("openai.types.shared.chat_model", "ChatModel"),
    "claude": _chat_models("anthropic.types.model", "Model"),
    "gemini": _chat_models("google.genai._gaos.types.interactions.model", "Model", prefix="gemini-"),
    "kimi": (),
}
END_OF_LIFE: dict[str, dict[str, date | None]] = {
    "openai": {
        **OWN_END_OF_LIFE["openai"],
        **parse_openai_deprecations(_openai_docstring()),
    },
    "claude": {**OWN_END_OF_LIFE["claude"], **_anthropic_end_of_life()},
    "gemini": dict(OWN_END_OF_LIFE["gemini"]),
    "kimi": dict(OWN_END_OF_LIFE["kimi"]),
}
# Known: what an SDK lists, ours, and what a table dates (so naming one gets its date, not "unknown").
MODELS: dict[str, tuple[str, ...]] = {
    provider: tuple(
        dict.fromkeys(
            [
                *SDK_MODELS[provider],
                *OWN_MODELS[provider],
                *(model for model in END_OF_LIFE[provider] if not _NOT_CHAT.search(model)),
            ]
        )
    )
    for provider in OWN_MODELS
}
