"""The HTTP API: blueprints, JSON errors, API keys, metrics and the OpenAPI document."""
