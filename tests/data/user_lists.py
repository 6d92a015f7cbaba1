"""A user-list service with another API than the bundled Subscriptions object: the object
is `Watchlists`, its writer `follow({"topic": {"name"}})` answers {"ok": true}, its shared
reader `show()` answers {"topics": [...]}. `app` keeps state in Restate; `broken_app` in a
module global (a kill forgets it), for the adapter's negative control."""

from datetime import timedelta

import restate


def watchlists(durable: bool) -> restate.VirtualObject:
    obj = restate.VirtualObject("Watchlists")
    memory: dict[str, list[str]] = {}

    @obj.handler()
    async def follow(ctx: restate.ObjectContext, req: dict) -> dict:
        name = req["topic"]["name"]
        topics = (await ctx.get("topics", type_hint=list[str]) or []) if durable else None
        await ctx.sleep(timedelta(milliseconds=100))  # read ... slow work ... write
        if durable:
            ctx.set("topics", [*topics, name] if name not in topics else topics)
        else:
            memory.setdefault(ctx.key(), []).append(name)
        return {"ok": True}

    @obj.handler(kind="shared")
    async def show(ctx: restate.ObjectSharedContext) -> dict:
        if durable:
            return {"topics": await ctx.get("topics", type_hint=list[str]) or []}
        return {"topics": list(memory.get(ctx.key(), []))}

    return obj


app = restate.app(services=[watchlists(durable=True)])
broken_app = restate.app(services=[watchlists(durable=False)])
