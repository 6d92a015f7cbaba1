import os
import stat

import pytest

from harness.errors import BinaryNotFound
from harness.runtime import binary


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    monkeypatch.delenv(binary.ENV_BIN, raising=False)
    monkeypatch.setenv(binary.ENV_CACHE, str(tmp_path / "cache"))


def test_explicit_path_that_does_not_exist(no_env, tmp_path):
    with pytest.raises(BinaryNotFound, match=r"--restate-bin does not exist"):
        binary.resolve(tmp_path / "nope")


def test_env_var_path_that_is_not_executable(no_env, monkeypatch, tmp_path):
    f = tmp_path / "restate-server"
    f.write_text("")
    monkeypatch.setenv(binary.ENV_BIN, str(f))
    with pytest.raises(BinaryNotFound, match="not executable"):
        binary.resolve()


def test_env_var_wins_over_cache(no_env, monkeypatch, tmp_path):
    f = tmp_path / "restate-server"
    f.write_text("#!/bin/sh\n")
    f.chmod(f.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(binary.ENV_BIN, str(f))
    assert binary.resolve() == f


def test_missing_binary_and_no_npm_names_what_to_install(no_env, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BinaryNotFound, match=r"npm is not on PATH.*Install Node.js"):
        binary.resolve()


def test_missing_binary_without_install_says_how(no_env):
    with pytest.raises(BinaryNotFound, match="python -m harness provision"):
        binary.resolve(install=False)


def test_failing_npm_install_is_reported_and_leaves_no_half_install(no_env, tmp_path):
    npm = tmp_path / "npm"
    npm.write_text("#!/bin/sh\necho 'E404 registry says no' >&2\nexit 1\n")
    npm.chmod(0o755)
    root = tmp_path / "cache"
    with pytest.raises(BinaryNotFound, match="E404 registry says no"):
        binary.provision(root, npm=str(npm))
    assert [p.name for p in root.iterdir()] == [".install.lock"]


def test_cached_install_is_the_platform_binary_not_the_node_wrapper():
    path = binary.resolve()
    assert path.name == "restate-server"
    assert "restate-server-linux-" in str(path) or "restate-server-darwin-" in str(path)
    with open(path, "rb") as f:
        assert f.read(4) in (b"\x7fELF", b"\xcf\xfa\xed\xfe")  # a native executable
    assert os.access(path, os.X_OK)
