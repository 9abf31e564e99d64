"""Jira webhook intake: who may send (signature or URL token) and remembering what was sent."""
