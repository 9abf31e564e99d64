"""`/augment` commands typed in Jira comments."""

from bot.commands.parsing import CommandArgumentError, CommandLine, comment_text, find_commands, job_argument

__all__ = ["CommandArgumentError", "CommandLine", "comment_text", "find_commands", "job_argument"]
