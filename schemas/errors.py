"""Error bodies: always `{"detail": ...}`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorResponse(BaseModel):
    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    input: Any = None


class ValidationErrorResponse(BaseModel):
    detail: list[FieldError]
