"""The base of every request body: unknown fields are an error, not silently ignored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    # A typo such as "update_jria" must answer 422, not run in a mode nobody asked for.
    model_config = ConfigDict(extra="forbid")
