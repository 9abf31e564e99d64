"""Route modules of the Jira sandbox, one per area of the API."""

API = "/rest/api/{version:2|3|latest}"
