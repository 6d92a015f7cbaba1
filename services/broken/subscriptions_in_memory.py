"""BROKEN subscriptions: the list lives in a module-level dict, not in Restate state.

Same API as services/subscriptions.py. A kill of the service forgets every subscription
(lost updates); a replay after a server restart appends again.
"""

from datetime import timedelta

import restate

subscriptions = restate.VirtualObject("Subscriptions")
LISTS: dict[str, list[str]] = {}


@subscriptions.handler()
async def add(ctx: restate.ObjectContext, req: dict) -> list[str]:
    await ctx.sleep(timedelta(milliseconds=100))
    LISTS.setdefault(ctx.key(), []).append(req["subscription"])
    return list(LISTS[ctx.key()])


@subscriptions.handler(name="list", kind="shared")
async def list_subscriptions(ctx: restate.ObjectSharedContext) -> list[str]:
    return list(LISTS.get(ctx.key(), []))


app = restate.app(services=[subscriptions])
