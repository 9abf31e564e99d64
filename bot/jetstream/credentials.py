"""How a NATS client logs in: a user and password, a token, or a `.creds` file.

Credentials go to nats-py as connect options, never into a server URL (URLs are logged).
The embedded server's come from `EmbeddedNats`; a configured server's from `nats.*`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from bot.config import NatsSettings


@dataclass(frozen=True)
class NatsCredentials:
    user: str = ""
    password: SecretStr = SecretStr("")
    token: SecretStr = SecretStr("")
    creds_file: Path | None = None

    @classmethod
    def from_settings(cls, nats: NatsSettings) -> NatsCredentials:
        return cls(user=nats.user, password=nats.password, token=nats.token, creds_file=nats.creds_file)

    def connect_options(self) -> dict[str, str]:
        """Keyword arguments for `nats.connect`; empty when the server needs no login."""
        options: dict[str, str] = {}
        if self.user:
            options.update(user=self.user, password=self.password.get_secret_value())
        if self.token.get_secret_value():
            options["token"] = self.token.get_secret_value()
        if self.creds_file is not None:
            options["user_credentials"] = str(self.creds_file)
        return options
