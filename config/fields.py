"""Model fields of the project's own."""

from __future__ import annotations

import re

import orjson
from django.db import models
from django.db.models.fields.json import KeyTransform

# orjson reads an integer that does not fit 64 bits as a float; json reads it exactly. Such an
# integer has 19 digits or more: a text with a run of 19 digits is read by json.
_LONG_DIGITS = re.compile(r"\d{19}")


class JSONField(models.JSONField):
    """A JSONField read with orjson (native code) where that gives what json would: the tick reads
    two of these in every schedule row it locks, and json.loads was some 2 % of its Python. What
    orjson refuses (NaN, an unpaired surrogate), a text with a long run of digits, a custom decoder
    and a key transform's value go Django's way."""

    def from_db_value(self, value, expression, connection):
        if (
            isinstance(value, str)
            and self.decoder is None
            and not isinstance(expression, KeyTransform)
            and not _LONG_DIGITS.search(value)
        ):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return super().from_db_value(value, expression, connection)
