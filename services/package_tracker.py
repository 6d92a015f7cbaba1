"""Event enrichment / joins (seed 000, package tracker).

A package is registered by an RPC call; its location updates arrive as events keyed by
package (one-way sends to `PackageTracker/<package>/updateLocation`; on Kafka, the record
key). The Virtual Object joins both into its durable state, queryable by a shared handler
while updates keep coming.

Guarantee: the enriched state is complete: the registration and every accepted location
update, once each, in the order they were sent.

API: Virtual Object `PackageTracker` keyed by package: registerPackage({"recipient"}),
     updateLocation({"n", "location"}), shared getPackageInfo() ->
     {"recipient", "locations": [{"n", "location"}, ...]}.
"""

import restate

tracker = restate.VirtualObject("PackageTracker")


@tracker.handler("registerPackage")
async def register_package(ctx: restate.ObjectContext, details: dict) -> None:
    if await ctx.get("package") is None:
        ctx.set("package", {"recipient": details["recipient"], "locations": []})


@tracker.handler("updateLocation")
async def update_location(ctx: restate.ObjectContext, update: dict) -> None:
    package = await ctx.get("package")
    if package is None:
        raise restate.TerminalError(f"package {ctx.key()} is not registered")
    package["locations"].append(update)
    ctx.set("package", package)


@tracker.handler("getPackageInfo", kind="shared")
async def get_package_info(ctx: restate.ObjectSharedContext) -> dict | None:
    return await ctx.get("package")


app = restate.app(services=[tracker])
