"""Prompt templates: files in `bot/prompts/`, replaceable per install or per project.

A template is Markdown with `$name` placeholders (Python's `string.Template`), so
braces and JSON in a prompt need no escaping. For project PAY, `describe.user.md` is
looked up in `prompts.projects.PAY`, then `prompts.directory`, then the built-ins.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from string import Template

from bot.config import PromptSettings
from bot.llm.types import Prompt


class PromptError(Exception):
    pass


class PromptTemplates:
    def __init__(self, settings: PromptSettings) -> None:
        self._settings = settings

    def render(self, name: str, project: str, values: dict[str, str]) -> Prompt:
        return Prompt(
            system=self._render(f"{name}.system.md", project, values),
            user=self._render(f"{name}.user.md", project, values),
        )

    def _render(self, filename: str, project: str, values: dict[str, str]) -> str:
        text = self._read(filename, project)
        try:
            return Template(text).substitute(values).strip()
        except (KeyError, ValueError) as err:
            raise PromptError(f"prompt template {filename}: unknown or malformed placeholder {err}") from None

    def _read(self, filename: str, project: str) -> str:
        for directory in (self._settings.projects.get(project), self._settings.directory):
            if directory is not None and (Path(directory) / filename).is_file():
                return (Path(directory) / filename).read_text(encoding="utf-8")
        return resources.files("bot.prompts").joinpath(filename).read_text(encoding="utf-8")
