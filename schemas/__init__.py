"""Pydantic models shared by handlers and pipelines: the single truth for every shape."""
