"""PRD/RFC documents as LLM context: a Confluence page URL → clean text within a budget.

One reader per job (it caches pages)::

    reader = DocumentReader(site_url, email, api_token)
    document = await reader.read(prd_url)  # Document, or DocumentError saying why not
    context = cut_to_budget(document.text, max_tokens=4000)
"""

from .budget import cut_to_budget, estimate_tokens
from .documents import Document, DocumentError, DocumentReader
from .page_urls import page_id_from_url
from .storage_text import storage_to_text

__all__ = [
    "Document",
    "DocumentError",
    "DocumentReader",
    "cut_to_budget",
    "estimate_tokens",
    "page_id_from_url",
    "storage_to_text",
]
