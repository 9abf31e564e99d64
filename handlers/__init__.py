"""aiohttp route tables, one module per area; registered as `augment.routes` entry points."""
