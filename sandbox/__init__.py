"""The embedded sandbox: Jira Cloud + Confluence on one port, the LLM providers on
another, both in memory. It is the default for trying Augment and the ground truth
for the test suite.

    async with Sandbox() as sb:
        JIRA(server=sb.jira_url, basic_auth=(sb.bot.email, sb.bot.api_token))

Rules: the sandbox is a package of its own and imports nothing of Augment (``bot``,
``schemas``, ``handlers``, ``pipelines``). The product imports it at two seams only, each
lazily so that installs that never use it do not load it: ``bot/runtime.py`` starts it for
``augment serve`` when no Jira is configured, and ``bot/cli/sandbox.py`` serves it alone
(``augment sandbox``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from sandbox.jira import FaultSettings, JiraState, build_jira_app
from sandbox.jira.demo import (
    ADMIN_ID,
    BOARD_ID,
    BOT_ID,
    CUSTOM_FIELD_IDS,
    PROJECT_KEY,
)
from sandbox.llm import LlmSandboxSettings, create_llm_sandbox_app


@dataclass
class SandboxCredentials:
    email: str
    api_token: str
    account_id: str


class Sandbox:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        jira_port: int = 0,
        llm_port: int = 0,
        snapshot: Path | None = None,
        webhook_time_scale: float = 1.0,
        seed: int = 0,
        faults: FaultSettings | None = None,
    ) -> None:
        """``faults``: the run's initial fault settings; ``set_faults`` changes them later."""
        self.host = host
        self._ports = (jira_port, llm_port)
        self.seed = seed
        self.jira = JiraState(seed=seed, webhook_time_scale=webhook_time_scale, snapshot=snapshot, faults=faults)
        self.custom_fields: dict[str, str] = dict(CUSTOM_FIELD_IDS)
        self.board_id = BOARD_ID
        self.project_key = PROJECT_KEY
        self.jira_url = ""
        self.confluence_url = ""
        self.llm_url = ""
        self._runners: list[web.AppRunner] = []

    @property
    def bot(self) -> SandboxCredentials:
        """The account the service logs in with."""
        return self._credentials(BOT_ID)

    @property
    def admin(self) -> SandboxCredentials:
        """A human Jira administrator (post comments as a person, register webhooks)."""
        return self._credentials(ADMIN_ID)

    def credentials(self, email: str) -> SandboxCredentials:
        """Any demo user by e-mail, e.g. the read-only ``robin@example.com``."""
        user = next((u for u in self.jira.site.data.users if u.email == email), None)
        if user is None:
            raise KeyError(f"no sandbox user with e-mail {email!r}")
        return self._credentials(user.account_id)

    def set_faults(self, **fields: Any) -> None:
        """Same as ``PUT /_sandbox/faults``; see ``sandbox.jira.FaultSettings``."""
        self.jira.fault_settings.update(**fields)

    async def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Wait until no webhook delivery (or retry) is pending."""
        return await self.jira.dispatcher.wait_idle(timeout)

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        """Every delivery attempt so far (``GET /_sandbox/webhooks/deliveries``)."""
        return self.jira.dispatcher.attempts()

    async def start(self) -> None:
        jira_port, llm_port = self._ports
        jira_runner = await self._serve(build_jira_app(self.jira), jira_port)
        self.jira_url = f"http://{_url_host(self.host)}:{_port_of(jira_runner)}"
        self.confluence_url = f"{self.jira_url}/wiki"
        self.jira.load(self.jira_url)
        llm_runner = await self._serve(create_llm_sandbox_app(LlmSandboxSettings(seed=self.seed)), llm_port)
        self.llm_url = f"http://{_url_host(self.host)}:{_port_of(llm_runner)}"

    async def stop(self) -> None:
        self.jira.save()
        while self._runners:
            await self._runners.pop().cleanup()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.stop()

    async def _serve(self, app: web.Application, port: int) -> web.AppRunner:
        # A short shutdown grace keeps stop() quick even with a slow request in flight.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        self._runners.append(runner)
        await web.TCPSite(runner, self.host, port).start()
        return runner

    def _credentials(self, account_id: str) -> SandboxCredentials:
        user = self.jira.site.user(account_id)
        assert user is not None, "the demo users are always present"
        return SandboxCredentials(email=user.email, api_token=user.api_token, account_id=user.account_id)


def _port_of(runner: web.AppRunner) -> int:
    return int(runner.addresses[0][1])


def _url_host(host: str) -> str:
    # A wildcard bind is reachable on loopback; IPv6 literals need brackets in URLs.
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
