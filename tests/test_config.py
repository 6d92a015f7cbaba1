import subprocess
from pathlib import Path

import pytest

from harness.runtime import binary
from harness.runtime.config import RetryPolicy, ServerConfig


def cfg(**kw):
    return ServerConfig(
        base_dir=Path("/tmp/x"), ingress_port=21000, admin_port=21001, fabric_port=21002, **kw
    )


def test_binds_loopback_only_on_the_given_ports():
    toml = cfg().to_toml()
    assert 'bind-address = "127.0.0.1:21000"' in toml
    assert 'bind-address = "127.0.0.1:21001"' in toml
    assert 'bind-address = "127.0.0.1:21002"' in toml
    assert "0.0.0.0" not in toml
    assert 'listen-mode = "tcp"' in toml


def test_retry_policy_unlimited_by_default_and_bounded_on_request():
    assert 'max-attempts = "unlimited"' in RetryPolicy().to_toml()
    assert "max-attempts = 5\n" in RetryPolicy(max_attempts=5).to_toml()


@pytest.mark.parametrize("ports", [(21000, 21000, 21002), (80, 21001, 21002)])
def test_invalid_ports_rejected(ports):
    with pytest.raises(ValueError, match="distinct"):
        ServerConfig(Path("/tmp/x"), *ports)


def test_real_server_accepts_the_config(tmp_path):
    path = tmp_path / "restate.toml"
    path.write_text(cfg(partitions=3).to_toml())
    out = subprocess.run(
        [str(binary.resolve()), "--config-file", str(path), "--dump-config"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "default-num-partitions = 3" in out
    assert 'max-attempts = "unlimited"' in out
    assert 'initial-interval = "50ms"' in out
