"""What request handlers reach through `services(request)`."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.config import Settings
from bot.health import HealthChecker
from bot.jobs.service import JobService
from bot.runtime import Runtime
from bot.webhooks.intake import WebhookIntake


@dataclass(frozen=True)
class Services:
    settings: Settings  # the effective settings: the runtime's
    runtime: Runtime
    jobs: JobService
    health: HealthChecker
    webhooks: WebhookIntake


SERVICES: web.AppKey[Services] = web.AppKey("services", Services)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]
