"""The leak hunt's search tools: what a secret looks like in the forms a leak could take, and
every place the product keeps text (database, broker, logs, API, admin) read back as text.

Each search has a positive counterpart in the test (a control string it must find), so a search
that silently reads nothing cannot pass."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import redis
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.urls import reverse

# "S3cr3t-" + 32 hex digits: 39 bytes, a multiple of 3, so its base64 is also the exact prefix of
# the base64 of any value that starts with it — one needle finds every encoding of the value.
CORE_PREFIX = "S3cr3t-"
# Appended to the core so that the JSON-escaped, URL-encoded and plain forms of the value all
# differ: the product's redactor must know each of them, while the needles (core, base64 of the
# core) are in every one.
AWKWARD_SUFFIX = ' "q\\b&+=é'


@dataclass(frozen=True)
class Secret:
    core: str

    @property
    def value(self) -> str:
        return self.core + AWKWARD_SUFFIX

    @property
    def needles(self) -> tuple[str, ...]:
        raw = self.core.encode()
        assert len(raw) % 3 == 0, "the core must be base64-aligned"
        forms = (self.core, base64.b64encode(raw), base64.urlsafe_b64encode(raw))
        return tuple(dict.fromkeys(f if isinstance(f, str) else f.decode() for f in forms))


def found(secrets: Iterable[Secret], text: str) -> list[str]:
    """The needles of `secrets` that occur in `text`."""
    return [needle for s in secrets for needle in s.needles if needle in text]


# ------------------------------------------------------------------------------ database


def database_rows_containing(needle: str) -> list[tuple[str, str]]:
    """(table, row as text) for every row of every table whose text form contains `needle`."""
    hits: list[tuple[str, str]] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(
                f"SELECT t::text FROM {quoted} t WHERE strpos(t::text, %s) > 0",  # noqa: S608
                [needle],
            )
            hits.extend((table, row[0][:300]) for row in cursor.fetchall())
    return hits


# ------------------------------------------------------------------------------ broker


def broker_dump(redis_url: str) -> tuple[int, str]:
    """(number of keys, every key and value as text) in every database of the Redis server."""
    client = redis.Redis.from_url(redis_url)
    try:
        databases = [int(name[2:]) for name in client.info("keyspace")]
    finally:
        client.close()
    count, parts = 0, []
    for db in databases:
        client = redis.Redis.from_url(redis_url, db=db)
        try:
            for key in client.scan_iter(count=1000):
                count += 1
                parts.append(f"db{db} {key!r} = {_redis_value(client, key)!r}")
        finally:
            client.close()
    return count, "\n".join(parts)


def _redis_value(client: redis.Redis, key: bytes) -> object:
    kind = client.type(key)
    kind = kind.decode() if isinstance(kind, bytes) else kind
    if kind == "string":
        return client.get(key)
    if kind == "list":
        return client.lrange(key, 0, -1)
    if kind == "hash":
        return client.hgetall(key)
    if kind == "set":
        return client.smembers(key)
    if kind == "zset":
        return client.zrange(key, 0, -1, withscores=True)
    if kind == "stream":
        return client.xrange(key)
    return kind


# ------------------------------------------------------------------------------ logs


class CapturingHandler(logging.Handler):
    """Every record at every level, formatted with its traceback, as text."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + f" args={record.args!r}")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class capture_all_logs:  # noqa: N801 — a context manager
    """Attach one CapturingHandler to the root logger and to every logger that does not
    propagate, and open every level to DEBUG (restored on exit)."""

    def __init__(self) -> None:
        self.handler = CapturingHandler()
        self._saved: list[tuple[logging.Logger, int]] = []
        self._attached: list[logging.Logger] = []

    def __enter__(self) -> CapturingHandler:
        loggers = [logging.getLogger()] + [
            logger
            for logger in logging.root.manager.loggerDict.values()
            if isinstance(logger, logging.Logger)
        ]
        for logger in loggers:
            self._saved.append((logger, logger.level))
            logger.setLevel(logging.DEBUG)
            if logger is logging.root or not logger.propagate:
                logger.addHandler(self.handler)
                self._attached.append(logger)
        return self.handler

    def __exit__(self, *exc) -> None:
        for logger in self._attached:
            logger.removeHandler(self.handler)
        for logger, level in self._saved:
            logger.setLevel(level)


# ------------------------------------------------------------------------------ admin


@dataclass
class Page:
    url: str
    status: int
    text: str


@dataclass
class Pages:
    pages: list[Page] = field(default_factory=list)

    def get(self, client: Client, url: str, **kwargs) -> Page:
        response = client.get(url, **kwargs)
        page = Page(url, response.status_code, response.content.decode(errors="replace"))
        self.pages.append(page)
        return page

    def by_url(self, url: str) -> list[Page]:
        return [p for p in self.pages if p.url == url]


def admin_urls(per_model: int = 50) -> Iterator[str]:
    """Every registered model's changelist and add page, and the change, history and delete
    (confirmation) pages of its objects."""
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        yield reverse("admin:{}_{}_changelist".format(*info))
        yield reverse("admin:{}_{}_add".format(*info))
        for pk in model_admin.model._default_manager.values_list("pk", flat=True)[:per_model]:
            for page in ("change", "history", "delete"):
                yield reverse(f"admin:{info[0]}_{info[1]}_{page}", args=[pk])


# ------------------------------------------------------------------------------ API


def api_url_names() -> set[str]:
    """The name of every route under /api/ (and /metrics): what the hunt must have requested."""
    from django.urls import URLPattern, URLResolver, get_resolver

    names: set[str] = set()

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and pattern.name:
                if route.lstrip("^").startswith(("api/", "metrics")):
                    names.add(pattern.name)

    walk(get_resolver().url_patterns, "")
    return names
