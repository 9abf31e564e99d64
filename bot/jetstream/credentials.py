"""How a NATS client logs in: a user and password, a token, or a `.creds` file.

Credentials go to nats-py as connect options, never into a server URL (URLs are logged).
The embedded server's come from `EmbeddedNats`; a configured server's from `nats.*`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from pydantic import SecretStr

from bot.config import NatsSettings


class ConnectOptions(TypedDict, total=False):
    """The login arguments of `nats.connect`."""

    user: str
    password: str
    token: str
    user_credentials: str  # the path of a .creds file


@dataclass(frozen=True)
class NatsCredentials:
    user: str = ""
    password: SecretStr = SecretStr("")
    token: SecretStr = SecretStr("")
    creds_file: Path | None = None

    @classmethod
    def from_settings(cls, nats: NatsSettings) -> NatsCredentials:
        return cls(user=nats.user, password=nats.password, token=nats.token, creds_file=nats.creds_file)

    def connect_options(self) -> ConnectOptions:
        """Keyword arguments for `nats.connect`; empty when the server needs no login."""
        options = ConnectOptions()
        if self.user:
            options["user"] = self.user
            options["password"] = self.password.get_secret_value()
        if self.token.get_secret_value():
            options["token"] = self.token.get_secret_value()
        if self.creds_file is not None:
            options["user_credentials"] = str(self.creds_file)
        return options
