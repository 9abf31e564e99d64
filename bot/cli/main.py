"""`augment serve | api | worker | hash-password | jobs ... | teams ... | sandbox`."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from bot import __version__
from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging

DEFAULT_API_URL = "http://127.0.0.1:8000"


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    command = args.command or "serve"
    try:
        if command in ("serve", "api", "worker"):
            from bot.cli import processes

            settings = _settings(args)
            runner = {"serve": processes.serve, "api": processes.api, "worker": processes.worker}[command]
            runner(settings)
        elif command == "hash-password":
            _hash_password(from_stdin=args.stdin)
        elif command == "jobs":
            from bot.cli import jobs

            jobs.run(args)
        elif command == "teams":
            from bot.cli import teams

            teams.run(args)
        elif command == "sandbox":
            from sandbox import run

            run(args.host, args.jira_port, args.llm_port, args.snapshot)
    except ConfigError as err:
        sys.exit(f"config error: {err}")


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(getattr(args, "config", None))
    # The embedded nats-server's password is made up with the settings, not configured: add it.
    secrets = [*settings.secrets(), settings.nats.embedded_password.get_secret_value()]
    configure_logging(settings.log.level, settings.log.format, secrets)
    return settings


def _hash_password(*, from_stdin: bool) -> None:
    from bot.http.auth import hash_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != password:
            sys.exit("the passwords differ")
    if len(password) < 8:
        sys.exit("use a password of at least 8 characters")
    print(hash_password(password))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="augment", description="Augment, an event-driven Jira bot.")
    parser.add_argument("--version", action="version", version=f"augment {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="command")
    for name, text in (
        ("serve", "run the API and the workers in one process (the default)"),
        ("api", "run the API only (scale-out: workers run elsewhere)"),
        ("worker", "run the workers only, against the NATS in NATS_URL"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument(
            "--config", type=Path, default=None, help="config file (default: $AUGMENT_CONFIG or ./config.yaml)"
        )

    hashing = commands.add_parser("hash-password", help="print an argon2 hash for AUTH_PASSWORD_HASH")
    hashing.add_argument("--stdin", action="store_true", help="read the password from standard input")

    jobs = commands.add_parser("jobs", help="list, show, cancel or watch jobs through the REST API")
    _api_options(jobs)
    actions = jobs.add_subparsers(dest="action", metavar="action", required=True)
    listing = actions.add_parser("list", help="newest first")
    listing.add_argument("--status", choices=["started", "processing", "completed", "failed", "cancelled"])
    listing.add_argument("--type", dest="job_type")
    listing.add_argument("--limit", type=int, default=20)
    for name, text in (
        ("show", "print a job as JSON"),
        ("cancel", "cancel a job"),
        ("watch", "follow a job with a progress bar"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("job_id")

    teams = commands.add_parser("teams", help="import, list or export the team member database through the REST API")
    _api_options(teams)
    team_actions = teams.add_subparsers(dest="action", metavar="action", required=True)
    importing = team_actions.add_parser("import", help="create or replace every team of a YAML file")
    importing.add_argument("file", help="a YAML file with a `teams` list (e.g. sandbox/data/teams.yaml)")
    team_actions.add_parser("list", help="teams with their members and capacity per skill")
    team_actions.add_parser("export", help="print the teams as YAML, in the format import reads")

    sandbox = commands.add_parser("sandbox", help="run the Jira, Confluence and LLM sandbox alone")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--jira-port", type=int, default=8001)
    sandbox.add_argument("--llm-port", type=int, default=8002)
    sandbox.add_argument("--snapshot", type=Path, default=None, help="JSON file to load at start and save on stop")
    return parser


def _api_options(command: argparse.ArgumentParser) -> None:
    """Where the REST API is and who calls it: the commands that are its clients share these."""
    command.add_argument(
        "--url", default=os.environ.get("AUGMENT_URL", DEFAULT_API_URL), help="API base URL ($AUGMENT_URL)"
    )
    command.add_argument(
        "--user",
        default=os.environ.get("AUGMENT_USER"),
        help="user for Basic auth ($AUGMENT_USER; password from $AUGMENT_PASSWORD or a prompt)",
    )
