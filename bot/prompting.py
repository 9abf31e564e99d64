"""Prompt templates: files in `bot/prompts/`, replaceable per install or per project.

A template is Markdown with `$name` placeholders (Python's `string.Template`), so
braces and JSON in a prompt need no escaping. For project PAY, `describe.user.md` is
looked up in `prompts.projects.PAY`, then `prompts.directory`, then the built-ins.
"""

from __future__ import annotations

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

    def render(self, name: str, project: str, values: dict[str, str]) -> Prompt:
        return Prompt(
            system=self._render(f"{name}.system.md", project, values),
            user=self._render(f"{name}.user.md", project, values),
        )

    def _render(self, filename: str, project: str, values: dict[str, str]) -> str:
        source = self._source(filename, project)
        try:
            return Template(source.read_text(encoding="utf-8")).substitute(values).strip()
        except KeyError as err:
            raise PromptError(f"prompt template {source}: unknown placeholder ${err.args[0]}") from None
        except ValueError as err:
            raise PromptError(f"prompt template {source}: malformed placeholder ({err})") from None
        except (OSError, UnicodeDecodeError) as err:
            raise PromptError(f"prompt template {source} cannot be read: {err}") from None

    def _source(self, filename: str, project: str) -> Traversable:
        for directory in (self._settings.projects.get(project), self._settings.directory):
            if directory is not None and (Path(directory) / filename).is_file():
                return Path(directory) / filename
        return resources.files("bot.prompts").joinpath(filename)
