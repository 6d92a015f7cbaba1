import fcntl
import os
import socket

import pytest

from harness.errors import PortInUse
from harness.runtime import ports


def test_allocates_distinct_bindable_loopback_ports(tmp_path):
    alloc = ports.PortAllocator(lock_dir=tmp_path)
    got = [alloc.allocate() for _ in range(20)]
    assert len(set(got)) == 20
    assert all(ports.PORT_RANGE[0] <= p < ports.PORT_RANGE[1] for p in got)
    assert all(ports.can_bind(p) for p in got)
    assert set(got) <= set(ports.held_ports())
    alloc.release_all()
    assert not set(got) & set(ports.held_ports())


def test_port_locked_by_another_process_is_skipped(tmp_path):
    port = 24567
    fd = os.open(tmp_path / f"{port}.lock", os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # what a parallel harness process holds
    try:
        alloc = ports.PortAllocator(lock_dir=tmp_path, port_range=(port, port + 1))
        with pytest.raises(PortInUse, match="no free port"):
            alloc.allocate(attempts=5)
    finally:
        os.close(fd)


def test_busy_port_is_reported_with_its_holder():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not ports.can_bind(port)
        with pytest.raises(PortInUse, match=rf"port {port} .*in use by pid {os.getpid()}"):
            ports.ensure_free(port, "the test")
