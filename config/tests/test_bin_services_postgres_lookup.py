"""bin/services.py finds PostgreSQL's server binaries off PATH too: Debian's /usr/lib/postgresql/N,
Homebrew's keg-only postgresql@N, Postgres.app — the newest version, by number, not by spelling."""

from __future__ import annotations

from pathlib import Path

from tests.bin_services import services


def bindir(path: Path, initdb: bool = True) -> Path:
    (path / "bin").mkdir(parents=True)
    if initdb:
        (path / "bin" / "initdb").touch()
    return path / "bin"


def test_it_takes_the_newest_version_by_number(tmp_path: Path) -> None:
    bindir(tmp_path / "postgresql" / "9.6")
    newest = bindir(tmp_path / "postgresql" / "15")
    bindir(tmp_path / "postgresql" / "16", initdb=False)  # client only: no server binaries
    assert services.newest_bindir([f"{tmp_path}/postgresql/*/bin"]) == newest


def test_it_reads_homebrews_versioned_kegs(tmp_path: Path) -> None:
    bindir(tmp_path / "opt" / "postgresql@9")
    newest = bindir(tmp_path / "opt" / "postgresql@15")
    assert services.newest_bindir([f"{tmp_path}/opt/postgresql@*/bin"]) == newest


def test_the_first_place_that_has_one_wins(tmp_path: Path) -> None:
    debian = bindir(tmp_path / "debian" / "15")
    bindir(tmp_path / "brew" / "postgresql@17")
    patterns = [f"{tmp_path}/nowhere/*/bin", f"{tmp_path}/debian/*/bin", f"{tmp_path}/brew/*/bin"]
    assert services.newest_bindir(patterns) == debian
    assert services.newest_bindir([f"{tmp_path}/nowhere/*/bin"]) is None


def test_it_looks_where_debian_and_homebrew_install_postgresql() -> None:
    assert "/usr/lib/postgresql/*/bin" in services.POSTGRES_BINDIR_GLOBS
    assert "/opt/homebrew/opt/postgresql@*/bin" in services.POSTGRES_BINDIR_GLOBS  # Apple silicon
    assert "/usr/local/opt/postgresql@*/bin" in services.POSTGRES_BINDIR_GLOBS  # Intel Macs
