"""BROKEN subscriptions: `list` is an exclusive handler, so every read queues behind the
running `add` of the same user. Same API as services/subscriptions.py; state is correct,
but reads block: the shared-reads check flags it."""

import restate

from ..subscriptions import add

subscriptions = restate.VirtualObject("Subscriptions")
subscriptions.handler()(add)


@subscriptions.handler(name="list")  # the bug: exclusive
async def list_subscriptions(ctx: restate.ObjectContext) -> list[str]:
    return await ctx.get("subscriptions", type_hint=list[str]) or []


app = restate.app(services=[subscriptions])
