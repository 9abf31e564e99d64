"""Confluence documents (PRDs, RFCs) for prompts: a page URL → clean text within a token budget.

One reader per job (it caches pages)::

    reader = DocumentReader(site_url, email, api_token)
    document = await reader.read(prd_url)  # Document, or DocumentError saying why not
    text = cut_to_budget(document.text, max_tokens=4000)
"""

from bot.documents.budget import cut_to_budget, estimate_tokens
from bot.documents.page_urls import page_id_from_url
from bot.documents.reader import Document, DocumentError, DocumentReader
from bot.documents.storage_text import storage_to_text

__all__ = [
    "Document",
    "DocumentError",
    "DocumentReader",
    "cut_to_budget",
    "estimate_tokens",
    "page_id_from_url",
    "storage_to_text",
]
