"""npm dependencies of a Node.js service under test (e.g. examples/payments-js), provisioned
like restate-server: `npm install` once into the cache, keyed by the package.json's hash,
then linked as the project's node_modules. A clear error when npm is missing."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.errors import HarnessError
from harness.runtime.binary import cache_root


def provision_node_project(project: Path, npm: str | None = None) -> Path:
    """Make `project/node_modules` hold the dependencies of `project/package.json`."""
    manifest = project / "package.json"
    if not manifest.is_file():
        raise HarnessError(f"{project} has no package.json: not a Node.js project")
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest()[:16]
    root = cache_root() / "node"
    cached = root / digest / "node_modules"
    link = project / "node_modules"
    if not cached.is_dir():
        npm = npm or shutil.which("npm")
        if npm is None:
            raise HarnessError(
                f"{project} needs its npm dependencies and npm is not on PATH. Install "
                "Node.js with npm (e.g. `apt-get install npm`), or run `npm install` there."
            )
        root.mkdir(parents=True, exist_ok=True)
        with open(root / ".install.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # a parallel run may be installing right now
            if not cached.is_dir():
                _install(npm, manifest, root, digest)
    if link.is_symlink() and link.resolve() != cached.resolve():
        link.unlink()  # a link to the cache of an older package.json
    if not link.exists():
        link.symlink_to(cached, target_is_directory=True)
    return link


def _install(npm: str, manifest: Path, root: Path, digest: str) -> None:
    print(f"[restate-chaos] npm install for {manifest.parent} (first use only)", file=sys.stderr)
    staging = Path(tempfile.mkdtemp(prefix="install-", dir=root))
    try:
        shutil.copy(manifest, staging / "package.json")
        proc = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(staging)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            raise HarnessError(
                f"`npm install` for {manifest.parent} failed (exit {proc.returncode}); npm "
                f"said:\n{proc.stderr.strip()[-2000:]}\nCheck that the npm registry is reachable."
            )
        staging.rename(root / digest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
