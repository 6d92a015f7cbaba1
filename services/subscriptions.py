"""Virtual-object state (seed 004, user subscriptions): a virtual object keyed by user.

Guarantee: `add` runs exclusively per user, so concurrent adds never lose an update: the
final list holds every acknowledged subscription exactly once. `list` is a shared handler:
it reads concurrently with a running `add` (it does not queue behind it) and never changes
state. The durable sleep inside `add` stands for slow work between read and write.

API: virtual object `Subscriptions`: add({"subscription": str}) -> list[str],
     shared list() -> list[str].
"""

from datetime import timedelta

import restate

subscriptions = restate.VirtualObject("Subscriptions")


@subscriptions.handler()
async def add(ctx: restate.ObjectContext, req: dict) -> list[str]:
    current = await ctx.get("subscriptions", type_hint=list[str]) or []
    await ctx.sleep(timedelta(milliseconds=100))  # read ... slow work ... write
    if req["subscription"] not in current:
        current = [*current, req["subscription"]]
    ctx.set("subscriptions", current)
    return current


@subscriptions.handler(name="list", kind="shared")
async def list_subscriptions(ctx: restate.ObjectSharedContext) -> list[str]:
    return await ctx.get("subscriptions", type_hint=list[str]) or []


app = restate.app(services=[subscriptions])
