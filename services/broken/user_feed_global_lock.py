"""BROKEN user feed: one process-wide lock around processing (say, to protect a shared
client), so every user's posts wait for the slow users' moderation: a head-of-line
blocking that Restate's per-key queues exist to avoid.

Same API as services/user_feed.py.
"""

import asyncio

import restate

from harness.world.client import world_action

from ..user_feed import POLL

feed = restate.VirtualObject("UserFeed")
lock = asyncio.Lock()  # the bug: one queue for all users


@feed.handler("processPost")
async def process_post(ctx: restate.ObjectContext, post: dict) -> None:
    user, pid = ctx.key(), post["id"]
    async with lock:
        await ctx.run_typed(
            "create post", world_action("begin", key=user, idem=f"begin-{pid}", resource=pid)
        )
        for _ in range(post["checks"]):
            await ctx.sleep(POLL)
        await ctx.run_typed(
            "update feed", world_action("end", key=user, idem=f"end-{pid}", resource=pid)
        )


app = restate.app(services=[feed])
