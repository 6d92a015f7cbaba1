"""BROKEN user feed: `processPost` is a shared handler (for throughput), so the posts of
one user run concurrently: a post can start, and land in the feed, before the one sent
before it is done.

Same API as services/user_feed.py.
"""

import restate

from harness.world.client import world_action

from ..user_feed import POLL

feed = restate.VirtualObject("UserFeed")


@feed.handler("processPost", kind="shared")  # the bug
async def process_post(ctx: restate.ObjectSharedContext, post: dict) -> None:
    user, pid = ctx.key(), post["id"]
    await ctx.run_typed(
        "create post", world_action("begin", key=user, idem=f"begin-{pid}", resource=pid)
    )
    for _ in range(post["checks"]):
        await ctx.sleep(POLL)
    await ctx.run_typed(
        "update feed", world_action("end", key=user, idem=f"end-{pid}", resource=pid)
    )


app = restate.app(services=[feed])
