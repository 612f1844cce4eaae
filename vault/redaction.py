"""Scrub known secret values from any text: job logs, exception messages, log records.

Each value is also looked for in the encodings a script is likely to print it in: JSON-escaped
(a secret containing quotes or backslashes inside a JSON dump), URL-encoded (inside a query
string), and base64 (HTTP basic auth headers, config blobs). One compiled alternation, longest
first, so a secret containing another one is replaced whole.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

PLACEHOLDER = "***"
# A record's own attributes; any other is a field the call passed in `extra` (the JSON log
# format writes those out, so they are scrubbed as the message is).
_RECORD_ATTRS = frozenset({*logging.makeLogRecord({}).__dict__, "message", "asctime"})


def _forms(value: str) -> set[str]:
    forms = {value}
    forms.add(json.dumps(value)[1:-1])
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    forms.add(quote(value, safe=""))
    forms.add(quote_plus(value, safe=""))
    raw = value.encode("utf-8")
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms.add(text)
        # Without padding, as JWT-style encoders and some loggers print it.
        forms.add(text.rstrip("="))
    return {f for f in forms if f}


def _labelled(secrets: Iterable[str] | Mapping[str, str]) -> list[tuple[str, str]]:
    if isinstance(secrets, Mapping):
        return [(value, f"[REDACTED:{name}]") for name, value in secrets.items()]
    return [(value, PLACEHOLDER) for value in secrets]


class Redactor:
    """Compiled once per set of secrets; `redactor(text)` returns the scrubbed text."""

    def __init__(self, secrets: Iterable[str] | Mapping[str, str]):
        replacement: dict[str, str] = {}
        for value, label in _labelled(secrets):
            if not isinstance(value, str) or not value:
                continue
            for form in _forms(value):
                # The first label wins for a form two secrets share; either is correct.
                replacement.setdefault(form, label)
        self._replacement = replacement
        if replacement:
            ordered = sorted(replacement, key=len, reverse=True)
            self._pattern: re.Pattern[str] | None = re.compile("|".join(map(re.escape, ordered)))
        else:
            self._pattern = None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda m: self._replacement[m.group(0)], text)

    def split_ready(self, text: str) -> tuple[str, str]:
        """`(ready, held)`: the redacted text that can be shown now, and the raw end of `text`
        that might still become a secret once the next piece of the stream arrives.

        For a stream redacted piece by piece (a job's live log): the caller keeps `held` and
        puts it in front of the next piece, so a secret cut in two between pieces is still
        caught whole. `held` is at most about two secret forms long (the longest end of `text`
        that begins some form, moved back over a whole match that reaches into it)."""
        if self._pattern is None or not text:
            return text, ""
        cut = len(text) - self._longest_started_form(text)
        for match in self._pattern.finditer(text):
            if match.start() < cut < match.end():
                cut = match.start()  # a whole match across the cut is redacted next time
                break
        return self(text[:cut]), text[cut:]

    def _longest_started_form(self, text: str) -> int:
        """Length of the longest end of `text` that is a proper beginning of a form."""
        longest = 0
        for form in self._replacement:
            for size in range(min(len(form) - 1, len(text)), longest, -1):
                if text.endswith(form[:size]):
                    longest = size
                    break
        return longest


def redact(text: str, secrets: Iterable[str] | Mapping[str, str]) -> str:
    """`text` with every occurrence of every secret value replaced.

    `secrets` is an iterable of values (replaced by `***`) or a mapping of key name -> value
    (replaced by `[REDACTED:KEY]`). Empty values are ignored.
    """
    return Redactor(secrets)(text)


class SecretRedactingFilter(logging.Filter):
    """A logging filter that scrubs known secret values from records (message, args, text
    fields passed in `extra`, traceback).

    Attach it to *handlers* (filters on a logger do not see records propagated from child
    loggers), or use `redacting_log_handlers(secrets)` for the length of a job.
    """

    def __init__(self, secrets: Iterable[str] | Mapping[str, str] = (), name: str = ""):
        super().__init__(name)
        self.redactor = Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.redactor:
            return True
        message = record.getMessage()
        record.msg = self.redactor(message)
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _RECORD_ATTRS and isinstance(value, str):
                setattr(record, key, self.redactor(value))
        if record.exc_info and record.exc_info[1] is not None:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redactor(text)
            # The formatter would re-render the live exception; keep only the scrubbed text.
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        return True


class redacting_log_handlers:  # noqa: N801 — used as a context manager
    """Install a SecretRedactingFilter on every handler of `logger` (root by default)."""

    def __init__(
        self, secrets: Iterable[str] | Mapping[str, str], logger: logging.Logger | None = None
    ):
        self.filter = SecretRedactingFilter(secrets)
        self.logger = logger or logging.getLogger()
        self._handlers: list[logging.Handler] = []

    def __enter__(self) -> SecretRedactingFilter:
        self._handlers = list(self.logger.handlers)
        for handler in self._handlers:
            handler.addFilter(self.filter)
        return self.filter

    def __exit__(self, *exc) -> None:
        for handler in self._handlers:
            handler.removeFilter(self.filter)
