"""docker-compose.yml brings up restate-server and the Counter service on the locally built
images, and the object's state survives a kill of the service container. Runs where an
engine serves $DOCKER_HOST (.ci/docker-setup); skipped with the reason elsewhere
(tests/conftest.py)."""

import json
import os
import subprocess
import time
import urllib.request

import pytest

from harness.runtime.ports import PortAllocator
from tests.conftest import REPO

pytestmark = pytest.mark.docker


def call(url: str, body: int | None = None) -> int:
    data = None if body is None else json.dumps(body).encode()
    headers = {} if body is None else {"content-type": "application/json"}
    req = urllib.request.Request(url, data, headers, method="POST")
    return json.loads(urllib.request.urlopen(req, timeout=10).read())


def call_until(url: str, body: int, within: float) -> int:
    """`call`, retried until it goes through (the topology coming up or back)."""
    deadline = time.monotonic() + within
    while True:
        try:
            return call(url, body)
        except OSError:
            assert time.monotonic() < deadline, f"{url} did not answer within {within:g} s"
            time.sleep(0.1)


def test_compose_topology_survives_a_container_kill():
    alloc = PortAllocator()
    ports = dict(
        zip(
            ("INGRESS_PORT", "ADMIN_PORT", "FABRIC_PORT", "COUNTER_PORT"),
            (str(alloc.allocate()) for _ in range(4)),
            strict=True,
        )
    )
    env = {**os.environ, **ports}
    compose = [
        "docker-compose",
        "-p",
        f"rc{ports['INGRESS_PORT']}",
        "-f",
        str(REPO / "docker-compose.yml"),
    ]
    ingress = f"http://127.0.0.1:{ports['INGRESS_PORT']}"
    try:
        subprocess.run([*compose, "up", "-d"], env=env, check=True, capture_output=True)
        first = call_until(f"{ingress}/Counter/c1/add", 5, within=60)  # once registered
        subprocess.run([*compose, "kill", "counter"], env=env, check=True, capture_output=True)
        subprocess.run([*compose, "start", "counter"], env=env, check=True, capture_output=True)
        second = call_until(f"{ingress}/Counter/c1/add", 2, within=30)
        assert (first, second) == (5, 7)
        assert call(f"{ingress}/Counter/c1/get") == 7
    finally:
        subprocess.run([*compose, "down", "-t", "2"], env=env, capture_output=True)
        alloc.release_all()
