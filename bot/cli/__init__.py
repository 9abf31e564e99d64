"""The `augment` command."""
