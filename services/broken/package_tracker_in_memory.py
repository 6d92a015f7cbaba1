"""BROKEN package tracker: the joined package state lives in a module dict, not in
Restate's state; a kill of the service loses the registration and the locations so far.

Same API as services/package_tracker.py.
"""

import restate

tracker = restate.VirtualObject("PackageTracker")
packages: dict[str, dict] = {}  # the bug: lost with the process


@tracker.handler("registerPackage")
async def register_package(ctx: restate.ObjectContext, details: dict) -> None:
    packages.setdefault(ctx.key(), {"recipient": details["recipient"], "locations": []})


@tracker.handler("updateLocation")
async def update_location(ctx: restate.ObjectContext, update: dict) -> None:
    package = packages.get(ctx.key())
    if package is None:
        raise restate.TerminalError(f"package {ctx.key()} is not registered")
    package["locations"].append(update)


@tracker.handler("getPackageInfo", kind="shared")
async def get_package_info(ctx: restate.ObjectSharedContext) -> dict | None:
    return packages.get(ctx.key())


app = restate.app(services=[tracker])
