"""Error bodies: always `{"detail": ...}`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ErrorResponse(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    detail: str
    """What went wrong."""


class FieldError(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    loc: list[str | int]
    """Where the bad value is: body, query or path, then the field's path."""
    msg: str
    """What is wrong with it."""
    type: str
    """pydantic's error type."""
    input: Any = None
    """The value sent (scalars only, long strings cut)."""


class ValidationErrorResponse(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    detail: list[FieldError]
    """One entry per bad field."""
