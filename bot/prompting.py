"""Prompt templates: files in `bot/prompts/`, replaceable per install or per project.

A template is Markdown with `$name` placeholders (Python's `string.Template`), so
braces and JSON in a prompt need no escaping. For project PAY, `describe.user.md` is
looked up in `prompts.projects.PAY`, then `prompts.directory`, then the built-ins.

A variant (e.g. the issue type: `render("describe", "PAY", values, variant="Bug")`) is a more
specific template, `describe.bug.user.md`: it is looked up in all three places first, and the
base template (`describe.user.md`) is used where no variant file exists, part by part.
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

from bot.config import PromptSettings
from bot.llm.types import Prompt


class PromptError(Exception):
    """A template that cannot be used: a configuration error; the message names its file."""


class PromptTemplates:
    def __init__(self, settings: PromptSettings) -> None:
        self._settings = settings

    def render(self, name: str, project: str, values: dict[str, str], variant: str = "") -> Prompt:
        return Prompt(
            system=self._render(name, "system", variant, project, values),
            user=self._render(name, "user", variant, project, values),
        )

    def _render(self, name: str, part: str, variant: str, project: str, values: dict[str, str]) -> str:
        # "Sub-task" → "sub-task": a file name, whatever the issue type is called.
        slug = re.sub(r"[^a-z0-9]+", "-", variant.casefold()).strip("-")
        source = (slug and self._found(f"{name}.{slug}.{part}.md", project)) or self._source(
            f"{name}.{part}.md", project
        )
        try:
            return Template(source.read_text(encoding="utf-8")).substitute(values).strip()
        except KeyError as err:
            raise PromptError(f"prompt template {source}: unknown placeholder ${err.args[0]}") from None
        except ValueError as err:
            raise PromptError(f"prompt template {source}: malformed placeholder ({err})") from None
        except (OSError, UnicodeDecodeError) as err:
            raise PromptError(f"prompt template {source} cannot be read: {err}") from None

    def _source(self, filename: str, project: str) -> Traversable:
        return self._found(filename, project) or resources.files("bot.prompts").joinpath(filename)

    def _found(self, filename: str, project: str) -> Traversable | None:
        """The template file where it exists: the project's directory, the install's, the built-ins."""
        for directory in (self._settings.projects.get(project), self._settings.directory):
            if directory is not None and (Path(directory) / filename).is_file():
                return Path(directory) / filename
        builtin = resources.files("bot.prompts").joinpath(filename)
        return builtin if builtin.is_file() else None
