"""agents.netguard refuses webhook URLs that reach anything but the public internet — on save
(vet_url) and again when connecting (post_json), since DNS can change in between. Refusals
only: no test here opens a connection (socket creation fails the test)."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agents import netguard

PUBLIC = "93.184.216.34"
REFUSED_URLS = [
    "https://127.0.0.1/x",
    "https://10.0.0.5/x",
    "https://172.16.3.4/x",
    "https://192.168.1.1/x",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/x",
    "https://0.0.0.0/x",
    "https://224.0.0.1/x",
    "https://[::1]/x",
    "https://[fd00:ec2::254]/x",
    "https://[fe80::1]/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://[::ffff:169.254.169.254]/x",
    "https://[2002:a00:5::]/x",  # 6to4 around 10.0.0.5
    "https://[64:ff9b::a9fe:a9fe]/x",  # NAT64 around 169.254.169.254
    "https://localhost/x",
    "https://2130706433/x",  # 127.0.0.1 as one number
]


@pytest.fixture
def no_connections(monkeypatch):
    """Any attempt to open a socket fails the test."""

    def refuse(*args, **kwargs):
        pytest.fail("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "socket", refuse)


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_it_refuses_urls_that_resolve_to_non_public_addresses(url, fake_dns, no_connections):
    fake_dns({"2130706433": ["127.0.0.1"]})
    with pytest.raises(netguard.WebhookURLRefused) as refused:
        netguard.vet_url(url, allow_private=False)
    assert str(refused.value) == netguard.NOT_PUBLIC


def test_it_refuses_a_name_if_any_of_its_addresses_is_private(fake_dns, no_connections):
    fake_dns({"mixed.example.com": [PUBLIC, "10.1.2.3"]})
    with pytest.raises(netguard.WebhookURLRefused, match="public internet address"):
        netguard.vet_url("https://mixed.example.com/hook", allow_private=False)


@pytest.mark.parametrize(
    "url", ["http://hooks.example.com/boot", "ftp://hooks.example.com/", "file:///etc/passwd"]
)
def test_it_refuses_every_scheme_but_https(url, fake_dns, no_connections):
    fake_dns({"hooks.example.com": [PUBLIC]})
    with pytest.raises(netguard.WebhookURLRefused, match="must start with https://"):
        netguard.vet_url(url, allow_private=False)


@pytest.mark.parametrize("url", ["", "https:///x", "https://hooks.example.com:99999/", "x"])
def test_it_refuses_malformed_urls(url, fake_dns, no_connections):
    with pytest.raises(netguard.WebhookURLRefused):
        netguard.vet_url(url, allow_private=False)


def test_it_refuses_a_name_that_does_not_resolve(fake_dns, no_connections):
    with pytest.raises(netguard.WebhookURLRefused, match="could not be resolved"):
        netguard.vet_url("https://nowhere.example.com/x", allow_private=False)


def test_it_accepts_a_public_url_without_connecting(fake_dns, no_connections):
    fake_dns({"hooks.example.com": [PUBLIC, "2606:2800:220:1:248:1893:25c8:1946"]})
    target = netguard.vet_url("https://hooks.example.com/boot?key=abc", allow_private=False)
    assert (target.host, target.port, target.path) == ("hooks.example.com", 443, "/boot?key=abc")
    assert target.where == "https://hooks.example.com/boot"


def test_it_accepts_private_addresses_and_http_when_allowed(fake_dns, no_connections):
    for url in ["http://127.0.0.1:8080/x", "https://10.0.0.5/x", "http://localhost/x"]:
        netguard.vet_url(url, allow_private=True)


def test_it_names_no_address_to_the_user_and_logs_it(fake_dns, no_connections, caplog):
    fake_dns({"internal.example.com": ["10.20.30.40"]})
    with caplog.at_level(logging.WARNING, logger="agents.netguard"):
        with pytest.raises(netguard.WebhookURLRefused) as refused:
            netguard.vet_url("https://internal.example.com/x", allow_private=False)
    assert "10.20.30.40" not in str(refused.value)
    assert "10.20.30.40" in caplog.text and "internal.example.com" in caplog.text


def test_it_checks_again_when_connecting(fake_dns, no_connections):
    # Public when the URL is saved, private when the request is made (DNS rebinding): the
    # connection resolves the name itself and refuses before any socket exists.
    fake_dns({"rebind.example.com": [PUBLIC]})
    netguard.vet_url("https://rebind.example.com/boot", allow_private=False)

    fake_dns({"rebind.example.com": ["127.0.0.1"]})
    with pytest.raises(netguard.WebhookURLRefused) as refused:
        netguard.post_json(
            "https://rebind.example.com/boot",
            b"{}",
            headers={},
            timeout=1.0,
            allow_private=False,
        )
    assert str(refused.value) == netguard.NOT_PUBLIC


def test_it_refuses_a_private_literal_when_posting(fake_dns, no_connections):
    for url in ["https://169.254.169.254/latest/meta-data", "https://[::ffff:10.0.0.1]/"]:
        with pytest.raises(netguard.WebhookURLRefused):
            netguard.post_json(url, b"{}", headers={}, timeout=1.0, allow_private=False)


def test_it_refuses_http_when_posting(fake_dns, no_connections):
    fake_dns({"hooks.example.com": [PUBLIC]})
    with pytest.raises(netguard.WebhookURLRefused, match="https://"):
        netguard.post_json(
            "http://hooks.example.com/boot", b"{}", headers={}, timeout=1.0, allow_private=False
        )


def test_it_posts_over_tls_to_the_vetted_address_under_the_urls_name(
    fake_dns, monkeypatch, tmp_path
) -> None:
    # Loopback only (allowed here): the socket goes to the address vetted at connection time,
    # while the Host header, SNI and the certificate check keep the URL's name.
    cert, key = _self_signed(tmp_path, "hooks.test")
    fake_dns({"hooks.test": ["127.0.0.1"]})
    trusting = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **kw: trusting)
    seen: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            seen["host"] = self.headers["Host"]
            seen["body"] = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    serving = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    serving.load_cert_chain(cert, key)
    serving.sni_callback = lambda _sock, server_name, _context: seen.update(sni=server_name)
    server.socket = serving.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"https://hooks.test:{server.server_address[1]}/boot"
        status = netguard.post_json(
            url, b'{"a":1}', headers={"X-Test": "1"}, timeout=5.0, allow_private=True
        )
    finally:
        server.shutdown()
        server.server_close()
    assert status == 204
    assert seen == {
        "host": f"hooks.test:{server.server_address[1]}",
        "sni": "hooks.test",
        "body": b'{"a":1}',
    }


def _self_signed(folder, name: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
