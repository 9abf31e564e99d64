"""A deterministic value generator for JSON Schema, and for Gemini's OpenAPI subset.

The sandbox must answer structured requests with JSON that the caller's own
validator (usually pydantic) accepts, so the generator covers the keywords the
SDKs actually send: objects, scalars with bounds and formats, arrays, `$ref`,
combinators and type unions. Keywords it does not understand are ignored, as a
lenient model would. All choices come from the `random.Random` passed in, so
the same seed always gives the same value.
"""

import datetime
import math
import random
import re
import string
import uuid
from collections.abc import Sequence
from typing import Any

LABEL = "[sandbox] "

# Past this depth the generator only emits what the schema requires, so
# recursive schemas (trees, linked items) terminate.
_MINIMAL_DEPTH = 6
# Past this depth the schema cannot be satisfied with a finite value.
_MAX_DEPTH = 40

# Gemini's SDK serialises its Schema type with snake_case keys; JSON Schema
# spells them in camelCase. Both reach the sandbox.
_ALIASES = {
    "min_length": "minLength",
    "max_length": "maxLength",
    "min_items": "minItems",
    "max_items": "maxItems",
    "min_properties": "minProperties",
    "max_properties": "maxProperties",
    "any_of": "anyOf",
    "property_ordering": "propertyOrdering",
}

# String formats with a dedicated generator; other formats get a labelled string.
_FORMATS = frozenset(
    {"date", "date-time", "time", "duration", "uri", "url", "email", "hostname", "uuid", "ipv4", "ipv6"}
)

_FALLBACK_WORDS = ("ticket", "scope", "release", "backlog", "estimate")


class SchemaError(ValueError):
    """The schema cannot be turned into a value (broken `$ref`, endless recursion)."""


def generate(schema: dict[str, Any], rng: random.Random, words: Sequence[str] = ()) -> Any:
    """A value valid for `schema`; strings are built from `words` and labelled."""
    return _Generator(schema, rng, list(words) or list(_FALLBACK_WORDS)).value(schema, 0)


def resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """`schema` with `$ref` chains followed and `allOf` merged (the keys a caller inspects)."""
    return _Generator(root, random.Random(0), list(_FALLBACK_WORDS)).resolve(schema, 0)


def normalise(schema: dict[str, Any]) -> dict[str, Any]:
    """Gemini's OpenAPI spelling (snake_case keys, upper-case types) as JSON Schema."""
    out = {_ALIASES.get(key, key): value for key, value in schema.items()}
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = kind.lower()
    elif isinstance(kind, list):
        out["type"] = [str(k).lower() for k in kind]
    return out


class _Generator:
    def __init__(self, root: dict[str, Any], rng: random.Random, words: list[str]) -> None:
        self.root = root
        self.rng = rng
        self.words = words

    def resolve(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        if depth > _MAX_DEPTH:
            raise SchemaError("schema nests too deeply (recursive $ref without a way out?)")
        schema = normalise(schema)
        ref = schema.get("$ref")
        if isinstance(ref, str):
            # Sibling keywords of `$ref` (description, default) stay; the target wins on conflicts.
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            return self.resolve({**siblings, **self._lookup(ref)}, depth + 1)
        parts = schema.get("allOf")
        if isinstance(parts, list) and parts:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in parts:
                merged = _merge(merged, self.resolve(part, depth + 1))
            return merged
        return schema

    def _lookup(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#"):
            raise SchemaError(f"only local $ref values are supported, got {ref!r}")
        node: Any = self.root
        for token in ref.lstrip("#").strip("/").split("/"):
            if not token:
                continue
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or token not in node:
                raise SchemaError(f"$ref {ref!r} does not resolve")
            node = node[token]
        if not isinstance(node, dict):
            raise SchemaError(f"$ref {ref!r} does not point at a schema")
        return node

    def value(self, schema: dict[str, Any], depth: int) -> Any:
        schema = self.resolve(schema, depth)
        minimal = depth >= _MINIMAL_DEPTH
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.rng.choice(schema["enum"])
        branches = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(branches, list) and branches:
            return self.value(self._pick_branch(schema, branches, minimal, depth), depth + 1)
        kind = self._pick_type(schema, minimal)
        if kind == "null":
            return None
        if kind == "object":
            return self._object(schema, depth, minimal)
        if kind == "array":
            return self._array(schema, depth, minimal)
        if kind == "integer":
            return self._integer(schema)
        if kind == "number":
            return self._number(schema)
        if kind == "boolean":
            return self.rng.random() < 0.5
        return self._string(schema)

    def _pick_branch(self, schema: dict[str, Any], branches: list[Any], minimal: bool, depth: int) -> dict[str, Any]:
        # Keywords next to anyOf (pydantic puts title/description there) apply to every branch.
        shared = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        resolved = [self.resolve(b, depth + 1) for b in branches]
        nulls = [b for b in resolved if b.get("type") == "null"]
        others = [b for b in resolved if b.get("type") != "null"]
        # Prefer a real value so answers show content; deep in a recursive schema prefer null.
        chosen = (nulls or others)[0] if minimal else (others or nulls)[0]
        return _merge(shared, chosen)

    def _pick_type(self, schema: dict[str, Any], minimal: bool) -> str:
        kind = schema.get("type")
        if isinstance(kind, list) and kind:
            non_null = [str(k) for k in kind if k != "null"]
            if (minimal and "null" in kind) or not non_null:
                return "null"
            return non_null[0]
        if isinstance(kind, str):
            if minimal and schema.get("nullable") is True:
                return "null"
            return kind
        if "properties" in schema or "additionalProperties" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema:
            return "array"
        return "string"

    def _object(self, schema: dict[str, Any], depth: int, minimal: bool) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        # Gemini's propertyOrdering says which order the caller wants the keys in.
        order = list(schema.get("propertyOrdering") or properties)
        order += [name for name in properties if name not in order]
        out: dict[str, Any] = {}
        for name in order:
            if name in properties and (not minimal or name in required):
                out[name] = self.value(properties[name], depth + 1)
        extra = schema.get("additionalProperties")
        if not properties and isinstance(extra, dict) and not minimal:
            # A map type (dict[str, X]): keys from the prompt, values from the schema.
            for key in self._sample_words(2):
                out[key] = self.value(extra, depth + 1)
        return out

    def _array(self, schema: dict[str, Any], depth: int, minimal: bool) -> list[Any]:
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        count = low if minimal else max(low, self.rng.randint(2, 3))
        if high is not None:
            count = min(count, int(high))
        prefix: list[Any] = schema.get("prefixItems") or []
        items = schema.get("items")
        item_schema: dict[str, Any] = items if isinstance(items, dict) else {}
        if prefix:
            # A tuple: exactly the prefix unless further items are allowed and needed.
            count = max(len(prefix), low) if items not in (None, False) else len(prefix)
        out: list[Any] = []
        attempts = 0
        while len(out) < count and attempts < count * 5:
            attempts += 1
            sub = prefix[len(out)] if len(out) < len(prefix) else item_schema
            item = self.value(sub, depth + 1)
            if schema.get("uniqueItems") and item in out:
                continue
            out.append(item)
        return out

    def _integer(self, schema: dict[str, Any]) -> int:
        low, high = _bounds(schema)
        lo = hi = None
        if low is not None:
            lo = math.floor(low) + 1 if _exclusive(schema, "Minimum", low) else math.ceil(low)
        if high is not None:
            hi = math.ceil(high) - 1 if _exclusive(schema, "Maximum", high) else math.floor(high)
        lo, hi = _default_range(lo, hi)
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0:
            first, last = math.ceil(lo / step), math.floor(hi / step)
            if first <= last:
                return int(self.rng.randint(first, last) * step)
        return int(self.rng.randint(lo, hi)) if lo <= hi else int(lo)

    def _number(self, schema: dict[str, Any]) -> float:
        low, high = _bounds(schema)
        lo, hi = _default_range(low, high)
        step = schema.get("multipleOf")
        if isinstance(step, (int, float)) and step > 0:
            first, last = math.ceil(lo / step), math.floor(hi / step)
            if _exclusive(schema, "Minimum", low) and first * step <= lo:
                first += 1
            if _exclusive(schema, "Maximum", high) and last * step >= hi:
                last -= 1
            if first <= last:
                # Validators test value / step for an integer in floating point, where
                # 0.3 / 0.1 fails; prefer multiples that survive that round trip.
                candidates = [round(k * step, 10) for k in range(first, min(last, first + 200) + 1)]
                exact = [v for v in candidates if (v / step).is_integer()]
                return float(self.rng.choice(exact or candidates))
        value = round(self.rng.uniform(lo, hi), 2)
        too_low = value < lo or value == lo and _exclusive(schema, "Minimum", low)
        too_high = value > hi or value == hi and _exclusive(schema, "Maximum", high)
        if too_low or too_high:
            # Rounding landed on or past a bound; the midpoint is always inside.
            value = (lo + hi) / 2
        return float(value)

    def _string(self, schema: dict[str, Any]) -> str:
        text = self._formatted(schema.get("format"))
        pattern = schema.get("pattern")
        if text is None and isinstance(pattern, str):
            text = _from_pattern(pattern, self.rng)
        if text is not None:
            return text
        text = LABEL + " ".join(self._sample_words(self.rng.randint(2, 5)))
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        filler = iter(self.words * (low // 3 + 1))
        while len(text) < low:
            text += " " + next(filler, "sandbox")
        return text if high is None else text[: int(high)]

    def _formatted(self, fmt: Any) -> str | None:
        if fmt not in _FORMATS:
            return None
        rng = self.rng
        word = _slug(rng.choice(self.words))
        day = datetime.date(2025, 1, 1) + datetime.timedelta(days=rng.randrange(730))
        clock = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:00"
        return {
            "date": day.isoformat(),
            "date-time": f"{day.isoformat()}T{clock}Z",
            "time": clock,
            "duration": f"P{rng.randint(1, 14)}D",
            "uri": f"https://sandbox.invalid/{word}",
            "url": f"https://sandbox.invalid/{word}",
            "email": f"{word}@sandbox.invalid",
            "hostname": f"{word}.sandbox.invalid",
            "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "ipv4": f"192.0.2.{rng.randint(1, 254)}",
            "ipv6": f"2001:db8::{rng.randint(1, 0xFFFF):x}",
        }[fmt]

    def _sample_words(self, count: int) -> list[str]:
        return self.rng.sample(self.words, min(count, len(self.words)))


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`allOf` semantics for the keywords that matter: union of properties and required."""
    merged = {**base, **extra}
    if "properties" in base and "properties" in extra:
        merged["properties"] = {**base["properties"], **extra["properties"]}
    if "required" in base and "required" in extra:
        merged["required"] = list(dict.fromkeys([*base["required"], *extra["required"]]))
    return merged


def _bounds(schema: dict[str, Any]) -> tuple[float | None, float | None]:
    """The numeric lower/upper bounds, whichever keyword (draft 4 or 2020-12) carries them."""
    low, high = schema.get("minimum"), schema.get("maximum")
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if isinstance(ex_low, (int, float)) and not isinstance(ex_low, bool):
        low = ex_low if low is None else max(low, ex_low)
    if isinstance(ex_high, (int, float)) and not isinstance(ex_high, bool):
        high = ex_high if high is None else min(high, ex_high)
    return low, high


def _exclusive(schema: dict[str, Any], side: str, bound: float | None) -> bool:
    """Whether `bound` itself is excluded: draft 4 uses a boolean, 2020-12 a number."""
    flag = schema.get(f"exclusive{side}")
    if flag is True:
        return True
    return isinstance(flag, (int, float)) and not isinstance(flag, bool) and flag == bound


def _default_range(lo: float | None, hi: float | None) -> tuple[Any, Any]:
    """Fill a missing bound with small, plausible numbers (story points, hours, counts)."""
    if lo is None and hi is None:
        return 1, 100
    if lo is None:
        assert hi is not None
        return (1 if hi >= 1 else hi - 100), hi
    if hi is None:
        return lo, lo + 100
    return lo, hi


def _slug(word: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", word.lower()).strip("-") or "sandbox"


# A regex subset: literals, escapes, \d \w \s, [classes] with ranges, `.`, and
# the quantifiers ? * + {n} {n,} {n,m}. Groups, alternation and negated classes
# are beyond "trivial" and make the generator fall back to a labelled string.
_CLASS_ESCAPES = {"d": string.digits, "w": string.ascii_letters + string.digits + "_", "s": " "}
_QUANTIFIER = re.compile(r"\?|\*|\+|\{(\d+)(,(\d*))?\}")


def _from_pattern(pattern: str, rng: random.Random) -> str | None:
    body = pattern.removeprefix("^").removesuffix("$")
    out: list[str] = []
    pos = 0
    while pos < len(body):
        parsed = _pattern_atom(body, pos)
        if parsed is None:
            return None
        choices, pos = parsed
        repeat = 1
        quant = _QUANTIFIER.match(body, pos)
        if quant:
            pos = quant.end()
            if quant.group(1) is not None:
                low = int(quant.group(1))
                high = low if quant.group(2) is None else int(quant.group(3) or low + 3)
                repeat = rng.randint(low, max(low, high))
            else:
                repeat = rng.randint(1, 3) if quant.group(0) != "?" else 1
        out.extend(rng.choice(choices) for _ in range(repeat))
    text = "".join(out)
    return text if re.search(pattern, text) else None


def _pattern_atom(body: str, pos: int) -> tuple[str, int] | None:
    """The characters one atom may stand for, and where the atom ends."""
    char = body[pos]
    if char == "\\" and pos + 1 < len(body):
        escaped = body[pos + 1]
        return _CLASS_ESCAPES.get(escaped, escaped), pos + 2
    if char == "[":
        end = body.find("]", pos + 1)
        if end == -1 or body[pos + 1] == "^":
            return None
        return _class_chars(body[pos + 1 : end]), end + 1
    if char == ".":
        return "x", pos + 1
    if char in "()|?*+{}^$]":
        return None
    return char, pos + 1


def _class_chars(spec: str) -> str:
    chars: list[str] = []
    i = 0
    while i < len(spec):
        if spec[i] == "\\" and i + 1 < len(spec):
            chars.append(_CLASS_ESCAPES.get(spec[i + 1], spec[i + 1]))
            i += 2
        elif i + 2 < len(spec) and spec[i + 1] == "-":
            chars.append("".join(chr(c) for c in range(ord(spec[i]), ord(spec[i + 2]) + 1)))
            i += 3
        else:
            chars.append(spec[i])
            i += 1
    return "".join(chars) or "x"
