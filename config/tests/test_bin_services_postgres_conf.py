"""bin/services.py's throwaway PostgreSQL takes the buffer pool size it is given
(TESTENV_SHARED_BUFFERS: `make bench` sizes it as production's), and nothing else through it."""

from __future__ import annotations

import pytest

from tests.bin_services import services


def test_its_cluster_takes_the_buffer_pool_size_it_is_given() -> None:
    assert "shared_buffers" not in services.postgres_conf({})
    conf = services.postgres_conf({"TESTENV_SHARED_BUFFERS": "1GB"})
    assert conf.startswith(services.POSTGRES_CONF)
    assert conf.endswith("shared_buffers = 1GB\n")


def test_it_refuses_a_buffer_pool_size_postgresql_would_not_read() -> None:
    for bad in ("1 GB", "1G", "0MB", "lots", "1GB\nfsync = off"):
        with pytest.raises(services.ServiceError, match="TESTENV_SHARED_BUFFERS"):
            services.postgres_conf({"TESTENV_SHARED_BUFFERS": bad})
