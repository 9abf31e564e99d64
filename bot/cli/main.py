"""`augment serve | api | worker | hash-password | jobs ... | teams ... | sandbox`.

Every way a command can end is one line and a conventional exit code, never a traceback:
Ctrl-C exits 130, a reader that stops early (`augment jobs show ID | head`) ends it quietly
with 141, as a shell reports SIGPIPE.
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
from pathlib import Path
from typing import Any

import yaml

from bot import __version__
from bot.config import CONFIG_ENV, DEFAULT_CONFIG_FILE, ConfigError, Settings, load_settings
from bot.logs import configure_logging

DEFAULT_API_HOST = "127.0.0.1"
DEFAULT_API_PORT = 8000
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE
JOB_STATUSES = ["started", "processing", "completed", "failed", "cancelled"]


def main(argv: list[str] | None = None) -> None:
    try:
        _main(argv)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader left: send what Python still holds for stdout to nowhere, and stop.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)


def _main(argv: list[str] | None) -> None:
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
            from bot.cli import sandbox

            sandbox.run(args.host, args.jira_port, args.llm_port, args.snapshot)
    except ConfigError as err:
        sys.exit(f"config error: {err}")
    # Flush inside the handlers above: a closed pipe shows up here, not at interpreter exit.
    sys.stdout.flush()


def _settings(args: argparse.Namespace) -> Settings:
    # A flag wins over config.yaml and the environment; validated as the setting is.
    flags = {"server": {"processes": args.processes}} if getattr(args, "processes", None) is not None else {}
    settings = load_settings(getattr(args, "config", None), **flags)
    # The embedded nats-server's password is made up with the settings, not configured: add it.
    secrets = [*settings.secrets(), settings.nats.embedded_password.get_secret_value()]
    configure_logging(settings.log.level, settings.log.format, secrets)
    return settings


def _hash_password(*, from_stdin: bool) -> None:
    from bot.http.auth import hash_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        try:
            password = getpass.getpass("Password: ")
            repeated = getpass.getpass("Repeat: ")
        except EOFError:
            sys.exit("\nno password given (no terminal? pipe it in with `augment hash-password --stdin`)")
        if repeated != password:
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
        if name == "api":
            command.add_argument(
                "--processes",
                type=int,
                default=None,
                help="processes listening on the one port (overrides server.processes, $SERVER_PROCESSES; default 1)",
            )

    hashing = commands.add_parser("hash-password", help="print an argon2 hash for AUTH_PASSWORD_HASH")
    hashing.add_argument("--stdin", action="store_true", help="read the password from standard input")

    jobs = commands.add_parser("jobs", help="list, show, cancel or watch jobs through the REST API")
    _api_options(jobs)
    actions = jobs.add_subparsers(dest="action", metavar="action", required=True)
    listing = actions.add_parser("list", help="newest first")
    _api_options(listing, again=True)
    listing.add_argument("--status", choices=JOB_STATUSES)
    listing.add_argument("--type", dest="job_type")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--cursor", help="the next page: the cursor the previous page printed")
    for name, text in (
        ("show", "print a job as JSON"),
        ("cancel", "cancel a job"),
        ("watch", "follow a job with a progress bar"),
    ):
        action = actions.add_parser(name, help=text)
        _api_options(action, again=True)
        action.add_argument("job_id")

    teams = commands.add_parser("teams", help="import, list or export the team member database through the REST API")
    _api_options(teams)
    team_actions = teams.add_subparsers(dest="action", metavar="action", required=True)
    importing = team_actions.add_parser("import", help="create or replace every team of a YAML file")
    _api_options(importing, again=True)
    importing.add_argument("file", help="a YAML file with a `teams` list (e.g. sandbox/data/teams.yaml)")
    for name, text in (
        ("list", "teams with their members and capacity per skill"),
        ("export", "print the teams as YAML, in the format import reads"),
    ):
        _api_options(team_actions.add_parser(name, help=text), again=True)

    sandbox = commands.add_parser("sandbox", help="run the Jira, Confluence and LLM sandbox alone")
    sandbox.add_argument("--host", default="127.0.0.1")
    # A string default goes through `type` too: a bad $SANDBOX_JIRA_PORT is argparse's one-line error.
    sandbox.add_argument(
        "--jira-port", type=int, default=os.environ.get("SANDBOX_JIRA_PORT") or 8001, help="($SANDBOX_JIRA_PORT, 8001)"
    )
    sandbox.add_argument(
        "--llm-port", type=int, default=os.environ.get("SANDBOX_LLM_PORT") or 8002, help="($SANDBOX_LLM_PORT, 8002)"
    )
    sandbox.add_argument("--snapshot", type=Path, default=None, help="JSON file to load at start and save on stop")
    return parser


def _api_options(command: argparse.ArgumentParser, *, again: bool = False) -> None:
    """Where the REST API is and who calls it: the commands that are its clients share these.

    `again`: the same options on an action, so that they work after it too
    (`augment jobs list --url ...`); unset there, they leave the command's value alone.
    """
    command.add_argument(
        "--url",
        default=argparse.SUPPRESS if again else default_api_url(),
        help="API base URL (default: $AUGMENT_URL, else server.host/port of $SERVER_HOST, $SERVER_PORT or "
        f"config.yaml, else http://{DEFAULT_API_HOST}:{DEFAULT_API_PORT})",
    )
    command.add_argument(
        "--user",
        default=argparse.SUPPRESS if again else os.environ.get("AUGMENT_USER"),
        help="user for Basic auth ($AUGMENT_USER; password from $AUGMENT_PASSWORD or a prompt)",
    )


def default_api_url() -> str:
    """$AUGMENT_URL, else where `augment serve` listens here: $SERVER_HOST/$SERVER_PORT, config.yaml."""
    if os.environ.get("AUGMENT_URL"):
        return os.environ["AUGMENT_URL"]
    server = _config_server_section()
    host = os.environ.get("SERVER_HOST") or str(server.get("host") or DEFAULT_API_HOST)
    port = os.environ.get("SERVER_PORT") or str(server.get("port") or DEFAULT_API_PORT)
    if host in ("0.0.0.0", "::", ""):
        host = DEFAULT_API_HOST
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _config_server_section() -> dict[str, Any]:
    """The `server` section of the config file `augment serve` would read here, if there is one."""
    path = Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_FILE)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    server = document.get("server") if isinstance(document, dict) else None
    return server if isinstance(server, dict) else {}
