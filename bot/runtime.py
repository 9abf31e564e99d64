"""The connections a process holds: NATS (embedded or configured), buckets, the job store.

What a process needs once is built here, once: the job queue and the model catalogue
(whose configured deprecated models are logged at start) hang on the runtime, and its
settings are the effective ones (aimed at the sandbox when no Jira is configured).
"""

from __future__ import annotations

import errno
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp
import structlog
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from pydantic import SecretStr

from bot.clock import Clock, SystemClock
from bot.config import ConfigError, ProviderSettings, Settings
from bot.jetstream.connect import ReconnectHook, connect
from bot.jetstream.credentials import NatsCredentials
from bot.jetstream.embedded import EmbeddedNats
from bot.jetstream.provision import Buckets, provision
from bot.jira.client import JiraClient
from bot.jira.fields import FieldStatus, resolve_fields
from bot.jobs.queue import JobQueue
from bot.jobs.rule_counts import RuleCounts
from bot.jobs.store import JobStore
from bot.llm.catalogue import Catalogue, ModelChoiceError
from bot.llm.client import Llm

if TYPE_CHECKING:
    from sandbox import Sandbox

log = structlog.get_logger(__name__)

SANDBOX_API_KEY = "sandbox-key"


# Jira calls run on threads (the jira library is synchronous): enough for a batch's tickets.
JIRA_SPARE_THREADS = 4


@dataclass
class Runtime:
    """A process's connections: NATS and its buckets, and the clients of Jira and the LLMs."""

    settings: Settings  # the effective settings
    nc: Client
    js: JetStreamContext
    buckets: Buckets
    store: JobStore
    queue: JobQueue
    catalogue: Catalogue
    http: aiohttp.ClientSession
    jira: JiraClient
    llm: Llm
    embedded: EmbeddedNats | None = None
    sandbox: Sandbox | None = None
    # Run after every NATS reconnection (e.g. to re-create watchers a restarted server forgot).
    on_reconnected: list[ReconnectHook] = field(default_factory=list)
    clock: Clock = field(default_factory=SystemClock)
    # What finding the custom fields by name at start found (`/health`: jira_fields).
    jira_fields: FieldStatus = field(default_factory=FieldStatus)
    # The trigger rules' counts this process adds to (`bot.jobs.rule_counts`).
    counts: RuleCounts = field(init=False)

    def __post_init__(self) -> None:
        self.counts = RuleCounts(self.buckets.counts, self.clock)

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        name: str,
        with_sandbox: bool = True,
        clock: Clock | None = None,
        catalogue: Catalogue | None = None,
    ) -> Runtime:
        """Connect (starting an embedded nats-server without NATS_URL) and provision.

        With no Jira configured (and `with_sandbox`), the sandbox starts too and the
        returned runtime's settings point at it. Custom field ids not configured are found by
        name (`bot.jira.fields`) and are in the returned runtime's settings. `catalogue`: one the caller built already
        (to stop on a bad model before starting anything), else built here.
        """
        catalogue = catalogue or build_catalogue(settings, clock)
        sandbox = await _start_sandbox(settings) if with_sandbox and _wants_sandbox(settings) else None
        if sandbox is not None:
            settings = _pointed_at(settings, sandbox)
        embedded = None
        servers = settings.nats.servers
        on_reconnected: list[ReconnectHook] = []
        try:
            credentials = NatsCredentials.from_settings(settings.nats)
            if not servers:
                embedded = EmbeddedNats(settings.nats.store_dir, password=settings.nats.embedded_password)
                await embedded.start()
                servers, credentials = [embedded.url], embedded.credentials
            nc = await connect(
                servers,
                name=name,
                startup_timeout=settings.nats.startup_timeout_seconds,
                on_reconnected=on_reconnected,
                credentials=credentials,
            )
            js = nc.jetstream()
            buckets = await provision(js, settings, wait_seconds=settings.nats.startup_timeout_seconds)
        except BaseException:
            if embedded is not None:
                await embedded.stop()
            if sandbox is not None:
                await sandbox.stop()
            raise
        store = JobStore(js, buckets, clock or SystemClock(), lock_ttl_seconds=settings.limits.active_lock_ttl_seconds)
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        jira = JiraClient(settings.jira, threads=settings.generation.batch_concurrency + JIRA_SPARE_THREADS)
        settings, jira_fields = await resolve_fields(settings, jira)
        return cls(
            settings,
            nc,
            js,
            buckets,
            store,
            JobQueue(js, store),
            catalogue,
            http,
            jira,
            Llm(settings),
            embedded,
            sandbox,
            on_reconnected,
            store.clock,
            jira_fields,
        )

    async def close(self) -> None:
        await self.counts.close()  # a statistic: a count NATS does not take is logged, not raised
        await self.http.close()
        await self.jira.close()
        await self.llm.close()
        try:
            if self.nc.is_connected:
                await self.nc.drain()
            elif not self.nc.is_closed:
                await self.nc.close()  # nothing to flush to a server that is gone
        except (OSError, NatsError) as err:  # the server went away mid-close: nothing left to flush
            log.warning("nats connection closed uncleanly", error=str(err) or type(err).__name__)
        if self.embedded is not None:
            await self.embedded.stop()
        if self.sandbox is not None:
            await self.sandbox.stop()


def build_catalogue(settings: Settings, clock: Clock | None = None) -> Catalogue:
    """The model catalogue; configured models that are deprecated are logged here, once at start."""
    try:
        catalogue = Catalogue(settings.llm, clock)
    except ModelChoiceError as err:
        raise ConfigError(f"{err.field}: {err}") from None
    for warning in catalogue.warnings():
        log.warning("configured LLM model is deprecated", detail=warning)
    return catalogue


def _wants_sandbox(settings: Settings) -> bool:
    return settings.sandbox.enabled == "true" or (settings.sandbox.enabled == "auto" and not settings.jira.url)


async def _start_sandbox(settings: Settings) -> Sandbox:
    from sandbox import Sandbox  # only installs that use it pay for importing it

    options = settings.sandbox
    sandbox = Sandbox(jira_port=options.jira_port, llm_port=options.llm_port, snapshot=options.snapshot)
    try:
        await sandbox.start()
    except OSError as err:
        await sandbox.stop()
        if err.errno not in (errno.EADDRINUSE, errno.EACCES):
            raise
        raise ConfigError(
            f"sandbox.jira_port/llm_port ({options.jira_port}/{options.llm_port}): cannot listen: {err.strerror}; "
            "set SANDBOX_JIRA_PORT and SANDBOX_LLM_PORT, or configure jira.url"
        ) from None
    log.info(
        "no Jira configured: using the built-in sandbox (not a real Jira, not a real LLM)",
        jira=sandbox.jira_url,
        llm=sandbox.llm_url,
        bot_account=sandbox.bot.email,
    )
    return sandbox


def _pointed_at(settings: Settings, sandbox: Sandbox) -> Settings:
    """The settings with Jira, Confluence and every provider without a key aimed at the sandbox."""
    fields = sandbox.custom_fields
    jira = settings.jira.model_copy(
        update={
            "url": sandbox.jira_url,
            "email": sandbox.bot.email,
            "token": SecretStr(sandbox.bot.api_token),
            "prd_custom_field": fields["prd"],
            "rfc_custom_field": fields["rfc"],
            "test_cases_custom_field": fields["test_cases"],
            "mandays_custom_field": fields["mandays"],
            "sprint_custom_field": fields["sprint"],
            "story_points_custom_field": fields["story_points"],
        }
    )
    confluence = settings.confluence.model_copy(
        update={"url": sandbox.confluence_url, "email": sandbox.bot.email, "token": SecretStr(sandbox.bot.api_token)}
    )
    providers = {}
    for section, path in (
        ("openai", "/openai/v1"),
        ("anthropic", "/anthropic"),
        ("google", "/gemini"),
        ("moonshot", "/moonshot/v1"),
    ):
        current: ProviderSettings = getattr(settings, section)
        if not current.api_key.get_secret_value():
            providers[section] = ProviderSettings(api_key=SecretStr(SANDBOX_API_KEY), base_url=sandbox.llm_url + path)
    webhooks, commands = settings.webhooks, settings.commands
    if not webhooks.secret.get_secret_value() and not webhooks.url_token.get_secret_value():
        webhooks = webhooks.model_copy(update={"secret": SecretStr(secrets.token_urlsafe(24))})
    if not commands.users and not commands.projects:
        # Everyone in the sandbox is make-believe: let them all try the commands.
        commands = commands.model_copy(update={"users": ["*"], "projects": ["*"]})
    return settings.model_copy(
        update={"jira": jira, "confluence": confluence, "webhooks": webhooks, "commands": commands, **providers}
    )


SANDBOX_WEBHOOK_EVENTS = ["jira:issue_created", "jira:issue_updated", "comment_created"]


async def subscribe_to_sandbox(sandbox: Sandbox, settings: Settings, webhook_url: str) -> None:
    """Register Augment's webhook with the sandbox Jira as its administrator would, once per URL."""
    admin = sandbox.admin
    hooks = f"{sandbox.jira_url}/rest/webhooks/1.0/webhook"
    async with aiohttp.ClientSession(
        headers={"Authorization": aiohttp.encode_basic_auth(admin.email, admin.api_token)}
    ) as session:
        async with session.get(hooks) as response:
            response.raise_for_status()
            existing = await response.json()
        for hook in existing:
            if hook["url"] == webhook_url:
                async with session.delete(hook["self"]) as response:
                    response.raise_for_status()
        body = {
            "name": "Augment",
            "url": webhook_url,
            "events": SANDBOX_WEBHOOK_EVENTS,
            "secret": settings.webhooks.secret.get_secret_value() or None,
        }
        if not body["secret"]:
            body["url"] = f"{webhook_url}?token={settings.webhooks.url_token.get_secret_value()}"
        async with session.post(hooks, json=body) as response:
            response.raise_for_status()
    log.info("sandbox Jira sends its webhooks to Augment", url=webhook_url)
