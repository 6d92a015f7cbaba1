"""Find the restate-server binary, provisioning it from npm on first use.

Order: an explicit path (--restate-bin), then $RESTATE_SERVER_BIN, then the cached npm
install of the pinned version, then `npm install` into that cache. We always run the
platform binary itself: the npm package's node wrapper is a separate process, and
killing the wrapper does not kill the server.
"""

from __future__ import annotations

import fcntl
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.errors import BinaryNotFound
from harness.versions import RESTATE_SERVER_NPM_PACKAGE, RESTATE_SERVER_VERSION

ENV_BIN = "RESTATE_SERVER_BIN"
ENV_CACHE = "RESTATE_CHAOS_CACHE"


def cache_root() -> Path:
    if ENV_CACHE in os.environ:
        return Path(os.environ[ENV_CACHE])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "restate-chaos"


def platform_package() -> str:
    system = {"Linux": "linux", "Darwin": "darwin"}.get(platform.system())
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower()
    )
    if system is None or arch is None:
        raise BinaryNotFound(
            f"restate-server has no npm build for {platform.system()} {platform.machine()}. "
            f"Build or download restate-server {RESTATE_SERVER_VERSION} yourself and set "
            f"{ENV_BIN} to its path."
        )
    return f"{RESTATE_SERVER_NPM_PACKAGE}-{system}-{arch}"


def _binary_in(prefix: Path) -> Path:
    """Where `npm install --prefix PREFIX` puts the platform binary."""
    return prefix / "node_modules" / platform_package() / "bin" / "restate-server"


def install_dir(root: Path, version: str = RESTATE_SERVER_VERSION) -> Path:
    return root / f"restate-server-{version}"


def cached_binary(root: Path, version: str = RESTATE_SERVER_VERSION) -> Path:
    return _binary_in(install_dir(root, version))


def _check_executable(path: Path, origin: str) -> Path:
    if not path.is_file():
        raise BinaryNotFound(
            f"restate-server binary from {origin} does not exist: {path}. Fix the path, or "
            f"unset it to let the harness install restate-server {RESTATE_SERVER_VERSION} "
            "from npm."
        )
    if not os.access(path, os.X_OK):
        raise BinaryNotFound(f"restate-server binary from {origin} is not executable: {path}")
    return path


def provision(root: Path, version: str = RESTATE_SERVER_VERSION, npm: str | None = None) -> Path:
    """npm-install the pinned server into the cache (once; safe across parallel processes)."""
    target = cached_binary(root, version)
    npm = npm or shutil.which("npm")
    if npm is None:
        raise BinaryNotFound(
            f"restate-server {version} is not installed and npm is not on PATH to install it. "
            "Install Node.js with npm (e.g. `apt-get install npm`), or download restate-server "
            f"and set {ENV_BIN} to the binary."
        )
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a parallel run may be installing right now
        if target.is_file():
            return target
        print(
            f"[restate-chaos] installing {RESTATE_SERVER_NPM_PACKAGE}@{version} with npm "
            f"into {root} (first use only)",
            file=sys.stderr,
        )
        staging = Path(tempfile.mkdtemp(prefix="install-", dir=root))
        try:
            proc = subprocess.run(
                [
                    npm,
                    "install",
                    "--no-save",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                    str(staging),
                    f"{RESTATE_SERVER_NPM_PACKAGE}@{version}",
                ],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if proc.returncode != 0 or not _binary_in(staging).is_file():
                raise BinaryNotFound(
                    f"`npm install {RESTATE_SERVER_NPM_PACKAGE}@{version}` failed "
                    f"(exit {proc.returncode}); npm said:\n{proc.stderr.strip()[-2000:]}\n"
                    f"Check that the npm registry is reachable, or set {ENV_BIN} to a "
                    "restate-server binary."
                )
            shutil.rmtree(install_dir(root, version), ignore_errors=True)  # a broken old try
            staging.rename(install_dir(root, version))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve(explicit: str | os.PathLike[str] | None = None, install: bool = True) -> Path:
    if explicit:
        return _check_executable(Path(explicit).expanduser(), "--restate-bin")
    if os.environ.get(ENV_BIN):
        return _check_executable(Path(os.environ[ENV_BIN]).expanduser(), f"${ENV_BIN}")
    cached = cached_binary(cache_root())
    if cached.is_file():
        return cached
    if not install:
        raise BinaryNotFound(
            f"restate-server {RESTATE_SERVER_VERSION} is not installed at {cached}. Run "
            f"`python -m harness provision`, or set {ENV_BIN}."
        )
    return provision(cache_root())


def binary_version(path: Path) -> str:
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip().removeprefix("restate-server").strip() or "unknown"
