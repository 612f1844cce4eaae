"""Outgoing webhooks reach the public internet only (SPEC §7). Stdlib only, no Django.

A webhook URL is chosen by a tenant, and the request is made from inside the control plane's
network: without a guard, `https://169.254.169.254/…` or `https://10.0.0.5/admin` would be a
way to make our servers call what only they can reach (SSRF). So:

- `vet_url` (on save): the scheme must be https (http too when private addresses are allowed,
  for development and tests), the host must resolve, and *every* address it resolves to must be
  globally routable — no loopback, private, shared (100.64/10), link-local (the cloud metadata
  service at 169.254.169.254 among them), unique-local, unspecified, multicast, reserved or
  documentation address. An IPv6 address that carries an IPv4 one (IPv4-mapped `::ffff:a.b.c.d`,
  6to4, NAT64 `64:ff9b::/96`) is judged by the IPv4 address inside it. A name such as
  `localhost` is refused because of what it resolves to, not because of how it is spelled.
- `post_json` (on every request): DNS can change between save and send, and a name can answer
  differently on each lookup (DNS rebinding). The connection resolves the host itself, vets
  every address, and connects the socket to a vetted address — never hands the name to a second
  resolver. The Host header and the TLS server name (SNI, certificate check) stay the URL's
  name. Redirects are not followed (http.client never does); a timeout bounds every step.

Errors carry a message that is safe to show a user (it names no resolved address, errno or
other detail of our network); the detail is logged here at WARNING.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from agents.runtime.logformat import log_event

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

NOT_PUBLIC = "The webhook URL must point to a public internet address."
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_MAX_RESPONSE_BYTES = 64 * 1024


class WebhookError(Exception):
    """A webhook URL was refused or a request to it failed. `str(exc)` is safe to show."""


class WebhookURLRefused(WebhookError):
    """The URL is malformed, has the wrong scheme, does not resolve, or resolves to an address
    that is not public. Asking again will not help until the URL (or its DNS) changes."""


class WebhookDeliveryFailed(WebhookError):
    """The request was allowed but did not get an answer (refused connection, TLS failure,
    timeout when `timed_out`)."""

    def __init__(self, message: str, *, timed_out: bool = False):
        self.timed_out = timed_out
        super().__init__(message)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (lowercased, IPv6 without brackets)
    port: int
    path: str  # path and query string, what the request line carries

    @property
    def where(self) -> str:
        """The endpoint without credentials or query string, for messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.path.split('?', 1)[0]}"


def is_public_address(ip: IPAddress) -> bool:
    """Globally routable, judged by the IPv4 address an IPv6 one carries, if any."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    # `is_global` alone lets multicast through (224/4, ff0e::/16 count as global).
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
    )


def parse_url(url: str, *, allow_private: bool) -> Target:
    """Check the URL's form and scheme, without resolving anything."""
    if not isinstance(url, str) or not url.strip():
        raise WebhookURLRefused("Give the webhook URL.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise WebhookURLRefused("The webhook URL is not a valid URL.") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise WebhookURLRefused(
            "The webhook URL must start with https:// or http://."
            if allow_private
            else "The webhook URL must start with https://."
        )
    if not parts.hostname:
        raise WebhookURLRefused("The webhook URL has no host name.")
    try:  # the Host header and the resolver both want the ASCII (punycode) form
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise WebhookURLRefused("The webhook URL is not a valid URL.") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, host, port or default, path)


def resolve(target: Target, *, allow_private: bool) -> list[tuple]:
    """Every address of the target's host, as getaddrinfo gives them, each one vetted."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        log_event(
            log,
            logging.WARNING,
            "webhook_refused",
            host=target.host,
            reason="unresolved",
            error=repr(exc),
        )
        raise WebhookURLRefused("The webhook URL's host name could not be resolved.") from None
    if not infos:
        raise WebhookURLRefused("The webhook URL's host name could not be resolved.")
    if not allow_private:
        for *_, sockaddr in infos:
            address = ipaddress.ip_address(sockaddr[0])
            if not is_public_address(address):
                log_event(
                    log,
                    logging.WARNING,
                    "webhook_refused",
                    host=target.host,
                    reason="not_public",
                    address=address,
                )
                raise WebhookURLRefused(NOT_PUBLIC)
    return infos


def vet_url(url: str, *, allow_private: bool) -> Target:
    """Raise WebhookURLRefused unless `url` may be called now (see the module docstring)."""
    target = parse_url(url, allow_private=allow_private)
    resolve(target, allow_private=allow_private)
    return target


# `timeout` is the connection's attribute, which http.client types float | None (the guarded
# connections below are always given a number).
def _connect_vetted(target: Target, *, timeout: float | None, allow_private: bool) -> socket.socket:
    """A TCP socket connected to an address vetted in this very call."""
    last_error: OSError | None = None
    for family, kind, proto, _name, sockaddr in resolve(target, allow_private=allow_private):
        try:
            return _open_socket(family, kind, proto, sockaddr, timeout=timeout)
        except OSError as exc:
            last_error = exc
    assert last_error is not None  # resolve() returns at least one address
    raise last_error


def _open_socket(family, kind, proto, sockaddr, *, timeout: float | None) -> socket.socket:
    """The only place a webhook connection is opened (tests make it fail to prove none is)."""
    sock = socket.socket(family, kind, proto)
    try:
        sock.settimeout(timeout)
        sock.connect(sockaddr)
    except OSError:
        sock.close()
        raise
    return sock


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, *, timeout: float, allow_private: bool):
        super().__init__(target.host, target.port, timeout=timeout)
        self._target, self._allow_private = target, allow_private

    def connect(self) -> None:
        self.sock = _connect_vetted(
            self._target, timeout=self.timeout, allow_private=self._allow_private
        )


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, *, timeout: float, allow_private: bool):
        self._tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self._tls)
        self._target, self._allow_private = target, allow_private

    def connect(self) -> None:
        sock = _connect_vetted(
            self._target, timeout=self.timeout, allow_private=self._allow_private
        )
        # The certificate is checked against the URL's name, not the address we connected to.
        self.sock = self._tls.wrap_socket(sock, server_hostname=self._target.host)


def post_json(
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str],
    timeout: float,
    allow_private: bool,
) -> int:
    """POST `body` (JSON) to `url` and return the HTTP status; a redirect is returned as its
    3xx status, never followed. Raises WebhookURLRefused or WebhookDeliveryFailed."""
    target = parse_url(url, allow_private=allow_private)
    connection_class = (
        _GuardedHTTPSConnection if target.scheme == "https" else _GuardedHTTPConnection
    )
    connection = connection_class(target, timeout=timeout, allow_private=allow_private)
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={"Content-Type": "application/json", **headers},
        )
        response = connection.getresponse()
        response.read(_MAX_RESPONSE_BYTES)
        return response.status
    except WebhookURLRefused:
        raise
    except TimeoutError:
        log_event(log, logging.WARNING, "webhook_failed", url=target.where, error="timeout")
        raise WebhookDeliveryFailed(
            f"The webhook did not answer within {timeout:g}s.", timed_out=True
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        log_event(log, logging.WARNING, "webhook_failed", url=target.where, error=repr(exc))
        raise WebhookDeliveryFailed("The webhook could not be reached.") from None
    finally:
        connection.close()
