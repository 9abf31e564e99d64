"""`/augment` commands typed in Jira comments."""

from bot.commands.parsing import CommandLine, comment_text, find_commands

__all__ = ["CommandLine", "comment_text", "find_commands"]
