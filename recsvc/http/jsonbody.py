"""The app's JSON provider: a body nested too deep to parse is a bad body (400), not a RecursionError (500);
answers are encoded by orjson (the same JSON, with UTF-8 left as it is, in a fraction of the time)."""

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider
from werkzeug.sansio.response import Response

ORJSON_OPTIONS = orjson.OPT_APPEND_NEWLINE  # Flask's own encoder ends the body with a newline too


class JSONProvider(DefaultJSONProvider):
    """Flask's provider, with deep nesting read as invalid JSON and answers encoded by orjson."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse ``s``; ValueError (which Flask answers with a 400) for a document nested too deep."""
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON document is nested too deep") from None

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """A JSON response, as ``jsonify`` makes it; what orjson cannot encode goes through Flask's encoder."""
        obj = self._prepare_response_obj(args, kwargs)
        if (self.compact is None and self._app.debug) or self.compact is False:  # pretty-printed, as Flask does
            return super().response(obj)
        try:
            body = orjson.dumps(obj, option=ORJSON_OPTIONS)
        except TypeError:  # a type orjson does not know (Flask's encoder calls ``default``), or a huge int
            return super().response(obj)
        return self._app.response_class(body, mimetype=self.mimetype)  # type: ignore[arg-type]  # bytes are fine
