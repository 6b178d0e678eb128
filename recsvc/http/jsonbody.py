"""The app's JSON provider: a body nested too deep to parse is a bad body (400), not a RecursionError (500)."""

from typing import Any

from flask.json.provider import DefaultJSONProvider


class JSONProvider(DefaultJSONProvider):
    """Flask's provider, with deep nesting read as invalid JSON."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse ``s``; ValueError (which Flask answers with a 400) for a document nested too deep."""
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON document is nested too deep") from None
