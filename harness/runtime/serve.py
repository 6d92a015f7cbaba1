"""Serve a Restate app in this one process: `python -m harness.runtime.serve module:app PORT`.

Plain `hypercorn module:app` forks a worker that survives a SIGKILL of its parent; serving
with hypercorn.asyncio.serve keeps the service a single process we can kill for real.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import signal
import sys
from pathlib import Path
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config
from restate.server import install_shutdown_hook


def load_app(spec: str) -> Any:
    """Import `module:attr`; a clear error (not a traceback) when it is wrong."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise SystemExit(f"app must be given as module:attribute, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise SystemExit(
            f"cannot import module {module_name!r} for app {spec!r}: {e}. The service runs "
            f"from {Path.cwd()} with the folders of --app-path on its path: run from your "
            "project's root, or pass --app-path DIR (the folder that holds the package)"
        ) from e
    try:
        app = getattr(module, attr)
    except AttributeError:
        raise SystemExit(f"module {module_name!r} has no attribute {attr!r}") from None
    if not is_asgi_app(app):
        raise SystemExit(
            f"{spec!r} is a {type(app).__name__}, not a Restate app: give the object that "
            "restate.app(services=[...]) returns (the ASGI app), e.g. mypkg.service:app"
        )
    return app


def is_asgi_app(app: Any) -> bool:
    """An ASGI app: an async callable of (scope, receive, send). Not a service object, nor
    one of its handlers (async, but of (ctx, request))."""
    if not callable(app):
        return False
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else type(app).__call__
    if not inspect.iscoroutinefunction(call):
        return False
    try:
        return len(inspect.signature(app).parameters) == 3
    except (TypeError, ValueError):
        return True  # a signature we cannot read: let it try


def hypercorn_config(port: int, host: str = "127.0.0.1") -> Config:
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.h2_max_concurrent_streams = 10_000  # hypercorn's 100 throttles the invoker
    config.keep_alive_timeout = 300
    config.graceful_timeout = 5
    config.accesslog = None
    config.errorlog = "-"
    return config


async def main(app: Any, port: int, host: str = "127.0.0.1") -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # The SDK takes over the loop's SIGTERM handler on its first request; its hook registry
    # chains handlers, so we register there instead of with loop.add_signal_handler.
    install_shutdown_hook(loop, stop.set, signal.SIGTERM)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await serve(app, hypercorn_config(port, host), shutdown_trigger=stop.wait)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("app", help="module:attribute of the Restate ASGI app")
    parser.add_argument("port", type=int)
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="bind address; only a container (docker-compose.yml) wants 0.0.0.0",
    )
    args = parser.parse_args()
    sys.path.insert(0, ".")
    asyncio.run(main(load_app(args.app), args.port, args.host))
