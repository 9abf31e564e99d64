"""`augment sandbox`: the Jira, Confluence and LLM sandbox alone, with the settings that point
`augment serve` at it.

It serves `sandbox.Sandbox` until SIGTERM or SIGINT, saving its snapshot on the way out, and prints what
`augment serve` needs as `.env` lines. A port that cannot be listened on is one line, exit 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox import Sandbox

# What `bot.runtime` gives providers the sandbox answers for; any non-empty key works.
SANDBOX_API_KEY = "sandbox-key"


def run(host: str, jira_port: int, llm_port: int, snapshot: Path | None) -> None:
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C before the handlers are in place
        asyncio.run(_serve(host, jira_port, llm_port, snapshot))


async def _serve(host: str, jira_port: int, llm_port: int, snapshot: Path | None) -> None:
    from sandbox import Sandbox  # only installs that use it pay for importing it

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # SIGTERM (systemd, docker) would kill the process before the snapshot is saved, and
    # SIGINT may be inherited as ignored (background jobs, CI): both are handled here.
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    sandbox = Sandbox(host=host, jira_port=jira_port, llm_port=llm_port, snapshot=snapshot)
    try:
        await sandbox.start()
    except OSError as err:
        if sandbox.jira_url:  # else nothing was loaded, and stopping would save an empty snapshot
            await sandbox.stop()
        sys.exit(
            f"augment sandbox could not start: cannot listen on {host} port {jira_port} (Jira) or {llm_port} "
            f"(LLM): {err.strerror or err}; use --jira-port/--llm-port or SANDBOX_JIRA_PORT/SANDBOX_LLM_PORT"
        )
    try:
        _print_banner(sandbox, snapshot)
        await stop.wait()
    finally:
        await sandbox.stop()
    print("Stopped." + (f" Data saved to {snapshot}." if snapshot else ""), flush=True)


def _print_banner(sandbox: Sandbox, snapshot: Path | None) -> None:
    bot, admin, llm = sandbox.bot, sandbox.admin, sandbox.llm_url
    fields = ", ".join(f"{name} {field_id}" for name, field_id in sandbox.custom_fields.items())
    lines = [
        f"Jira sandbox:       {sandbox.jira_url}  (project {sandbox.project_key}, board {sandbox.board_id})",
        f"Confluence sandbox: {sandbox.confluence_url}",
        f"LLM sandbox:        {llm}  (OpenAI {llm}/openai/v1, Anthropic {llm}/anthropic, "
        f"Gemini {llm}/gemini, Moonshot {llm}/moonshot/v1)",
        f"Bot account:        {bot.email}  API token {bot.api_token}  accountId {bot.account_id}",
        f"Admin account:      {admin.email}  API token {admin.api_token}",
        f"Custom fields:      {fields}",
        "",
        "To point `augment serve` at it, put these in .env (or export them):",
        "",
        f"JIRA_URL={sandbox.jira_url}",
        f"JIRA_EMAIL={bot.email}",
        f"JIRA_TOKEN={bot.api_token}",
        f"CONFLUENCE_URL={sandbox.confluence_url}",
        f"CONFLUENCE_EMAIL={bot.email}",
        f"CONFLUENCE_TOKEN={bot.api_token}",
        f"OPENAI_API_KEY={SANDBOX_API_KEY}",
        f"OPENAI_BASE_URL={llm}/openai/v1",
        "",
        "Jira sends webhooks only to URLs its administrator registered (the admin account above; "
        "plain `augment serve`, with no JIRA_URL, starts a sandbox of its own and registers itself).",
        "Ctrl-C or SIGTERM stops." + (f" Data is saved to {snapshot}." if snapshot else ""),
    ]
    print("\n".join(lines), flush=True)
