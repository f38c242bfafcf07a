"""How a configuration table is refused: a :class:`ConfigError` of one line that names the bad
key and the problem (``risk.max_position: expected int, got str``).

The settings file, a strategy's ``[strategy]`` parameters and the simulator's config file are
all TOML tables validated with msgspec; they word their errors the same way, with these. It
lives beside the error hierarchy, not in the settings, so the simulator (which may import only
the protocol core and the errors) words its config errors the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import msgspec

from . import ConfigError

_LOCATION = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_FIELD_IN_MESSAGE = re.compile(r"^Object (?P<kind>contains unknown|missing required) "
                               r"field `(?P<field>[^`]+)`$")
_KEY_PREFIX = re.compile(r"^(?P<key>[^\s:`]+): (?P<rest>.*)$", re.DOTALL)


def describe_validation_error(error: msgspec.ValidationError) -> str:
    """``risk.max_position: expected int, got str`` from msgspec's
    ``Expected `int`, got `str` - at `$.risk.max_position```."""
    match = _LOCATION.match(str(error))
    assert match is not None  # the pattern matches any string
    message = match["message"]
    path = (match["path"] or "").lstrip(".")
    field = _FIELD_IN_MESSAGE.match(message)
    if field is not None:
        path = f"{path}.{field['field']}" if path else field["field"]
        message = ("unknown key (misspelt?)" if field["kind"] == "contains unknown"
                   else "required key missing")
    else:
        keyed = _KEY_PREFIX.match(message)
        if keyed is not None:  # raised by a __post_init__ as "key: problem"
            path = f"{path}.{keyed['key']}" if path else keyed["key"]
            message = keyed["rest"]
        message = message.replace("`", "")
        message = message[:1].lower() + message[1:]
    return f"{path or '(top level)'}: {message}"


def key_text(key: object) -> str:
    """A key as an error names it: as written, or quoted when it holds line breaks or other
    unprintable characters (an error stays one line)."""
    return key if isinstance(key, str) and key.isprintable() else repr(key)


def reject_non_finite(value: Any, path: str = "") -> None:
    """:class:`ConfigError` naming the first ``inf`` or ``nan`` anywhere in ``value``."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"{path or '(top level)'}: must be a finite number, got {value} "
                              f"(for no practical limit, give a large number)")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            reject_non_finite(item, f"{path}.{key_text(key)}" if path else key_text(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            reject_non_finite(item, f"{path}[{index}]")
