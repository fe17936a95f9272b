"""Bot API request parameters and error replies, shaped exactly as Telegram sends them.

Parameters arrive as strings (query string, form fields, where objects are JSON-encoded) or as
typed JSON values; Params reads either. Must not import telegram or aiohttp.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

JsonDict = dict[str, Any]


class ApiError(Exception):
    """A Bot API failure: HTTP status, Telegram's description and optional ResponseParameters."""

    def __init__(self, code: int, description: str, parameters: JsonDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JsonDict:
        """The JSON body Telegram returns for this error."""
        out: JsonDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def bad_request(reason: str, parameters: JsonDict | None = None) -> ApiError:
    """A 400 error with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {reason}", parameters)


def forbidden(reason: str) -> ApiError:
    """A 403 error with Telegram's "Forbidden: " prefix."""
    return ApiError(403, f"Forbidden: {reason}")


_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


class Params:
    """The parameters of one Bot API call, with typed readers that fail like Telegram."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def raw(self) -> JsonDict:
        """Every parameter as received (strings from forms, typed values from JSON bodies)."""
        return dict(self._values)

    def has(self, name: str) -> bool:
        """Whether the parameter was given at all."""
        return self._values.get(name) is not None

    def get_str(self, name: str) -> str | None:
        """A string parameter, or None when absent."""
        value = self._values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def need_str(self, name: str) -> str:
        """A required string parameter; absent or empty gives '<name> is empty'."""
        value = self.get_str(name)
        if not value:
            raise bad_request(f"{name} is empty")
        return value

    def get_int(self, name: str) -> int | None:
        """An integer parameter, or None when absent."""
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def need_int(self, name: str) -> int:
        """A required integer parameter."""
        value = self.get_int(name)
        if value is None:
            raise bad_request(f"{name} is empty")
        return value

    def get_float(self, name: str) -> float | None:
        """A number parameter, or None when absent."""
        value = self._values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_bool(self, name: str, default: bool = False) -> bool:
        """A Boolean parameter ('true'/'false', '1'/'0' or JSON booleans)."""
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise bad_request(f"invalid {name} specified")

    def get_json(self, name: str) -> Any:
        """An object or array parameter, JSON-decoded when it came as a string; None when absent."""
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            if name == "reply_markup":
                raise bad_request("can't parse reply keyboard markup JSON object") from None
            raise bad_request(f"can't parse {name} JSON object") from None

    def chat_id(self, name: str = "chat_id") -> int | str:
        """A chat identifier: an integer id or an @username."""
        value = self._values.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if text.startswith("@"):
            return text
        try:
            return int(text)
        except ValueError:
            raise bad_request("chat not found") from None
