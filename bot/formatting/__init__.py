"""Text formatting for what Augment writes to Jira."""

from bot.formatting.jira_wiki import markdown_to_wiki

__all__ = ["markdown_to_wiki"]
