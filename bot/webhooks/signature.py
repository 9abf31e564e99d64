"""Who may deliver a webhook: Jira's HMAC signature, or a token in the URL.

Admin webhooks saved with a secret carry `X-Hub-Signature: sha256=<hex HMAC-SHA256 of
the raw body>`; webhooks that cannot be signed carry `?token=`. Comparisons are
constant-time, and the reasons given never include a secret.
"""

from __future__ import annotations

import hashlib
import hmac

from bot.config import WebhookSettings

SIGNATURE_PREFIX = "sha256="


class WebhookRefusedError(Exception):
    """The delivery is not from Jira as configured; the message says why, without secrets."""


def signature(secret: str, body: bytes) -> str:
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_sender(settings: WebhookSettings, body: bytes, signature_header: str | None, url_token: str | None) -> None:
    """Return if the delivery is authentic, else raise WebhookRefusedError.

    With a secret configured a valid signature is enough; the URL token is the
    fallback for unsigned deliveries. With neither configured, nothing is accepted.
    """
    secret = settings.secret.get_secret_value()
    token = settings.url_token.get_secret_value()
    if not secret and not token:
        raise WebhookRefusedError("webhooks are not configured: set webhooks.secret or webhooks.url_token")
    if secret and signature_header:
        if hmac.compare_digest(signature(secret, body).encode(), signature_header.strip().encode()):
            return
        raise WebhookRefusedError("X-Hub-Signature does not match the body")
    if token and url_token is not None:
        if hmac.compare_digest(token.encode(), url_token.encode()):
            return
        raise WebhookRefusedError("the URL token is wrong")
    if secret and not token:
        raise WebhookRefusedError("X-Hub-Signature is missing")
    raise WebhookRefusedError("neither X-Hub-Signature nor a URL token was given")
