"""`make run`'s set-up (bin/dev-setup) and Procfile.dev: the secrets file, the environment honcho
gets, and the embedded Redis as honcho starts it — from the config written here alone."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import stat
import subprocess
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]


def load_dev_setup():
    loader = importlib.machinery.SourceFileLoader("dev_setup", str(ROOT / "bin" / "dev-setup"))
    spec = importlib.util.spec_from_loader("dev_setup", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


dev_setup = load_dev_setup()


def procfile_dev() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile.dev").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and not line.lstrip().startswith("#"):
            entries[name.strip()] = command.strip()
    return entries


def test_it_makes_the_secrets_once_owner_only_and_keeps_them(tmp_path):
    env_file = tmp_path / "dev.env"
    env_file.write_text("# mine\nSECRET_KEY=kept\n")
    env_file.chmod(0o644)

    first = dev_setup.ensure_secrets(env_file)
    again = dev_setup.ensure_secrets(env_file)

    assert set(first) == set(dev_setup.SECRETS)
    assert first["SECRET_KEY"] == "kept"
    assert again == first == dev_setup.read_env_file(env_file)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_the_environment_wins_over_the_development_defaults():
    given = {"PORT": "8765", "DEBUG": "false", "REDIS_URL": "redis://:pw@127.0.0.1:7000/0"}

    run = dev_setup.run_env(given)

    assert run["DEBUG"] == "false"
    assert run["PORT"] == "8765"
    # honcho gives the other processes other PORTs: the control plane's URL is given outright.
    assert run["AGENT_CONTROL_PLANE_URL"] == "http://127.0.0.1:8765"
    assert "REDIS_URL" not in run  # the environment's own reaches the processes unchanged
    embedded = dev_setup.run_env(
        {}, redis_url="redis://:pw@127.0.0.1:6379/0", redis_server="/opt/redis-server"
    )
    assert embedded["REDIS_URL"] == "redis://:pw@127.0.0.1:6379/0"
    assert embedded["REDIS_SERVER_BINARY"] == "/opt/redis-server"
    assert (embedded["PORT"], embedded["DEBUG"]) == ("8000", "true")


def test_procfile_dev_starts_web_first_and_every_process_through_exec():
    entries = procfile_dev()

    # honcho gives $PORT to the first process it starts: dev-setup names web first.
    assert list(entries) == ["web", "worker", "beat", "agent", "redis"]
    assert "$PORT" in entries["web"]
    assert all(command.startswith("exec ") for command in entries.values())


def test_the_embedded_redis_starts_from_its_config_alone_and_requires_the_password(tmp_path):
    password = 'pa ss"word\\'  # quoting: a space, a quote and a backslash
    port = dev_setup.free_port()
    config = tmp_path / "redis.conf"
    dev_setup.write_private(
        config, dev_setup.redis_config(password=password, port=port, workdir=tmp_path)
    )
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    # As Procfile.dev's redis line starts it.
    server = subprocess.Popen(
        ["sh", "-c", f'exec "$0" {config}', dev_setup.redis_server_binary()],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=5)
    try:
        deadline = time.monotonic() + 15
        while True:
            assert server.poll() is None, (tmp_path / "redis.log").read_text()
            try:
                assert client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not answer"
                time.sleep(0.05)
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert client.config_get("bind") == {"bind": "127.0.0.1"}
        stranger = redis.Redis(host="127.0.0.1", port=port, password="not-the-password")
        with pytest.raises(redis.AuthenticationError):
            stranger.ping()
        stranger.close()
    finally:
        client.close()
        server.terminate()
        server.wait(10)
