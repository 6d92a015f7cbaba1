"""Transactional event processing (seed 000, user feed).

Social media posts arrive as events keyed by user (here: one-way sends to the Virtual
Object `UserFeed/<user>/processPost`; on Kafka, the record key). For each post the handler
creates it at the platform, polls content moderation with durable sleeps until it is done,
then updates the user's feed: each step durable, retried and resumed after a crash. Restate
runs the events of one user one at a time, in the order they arrived; a user whose posts
wait for moderation does not hold up the other users.

Guarantee: per user, posts are processed in the order they were sent, one at a time,
effectively once each; a slow user does not hold up the others.

API: Virtual Object `UserFeed` keyed by user: processPost({"id", "seq", "checks"}):
     moderation is done after `checks` polls, POLL apart.
World: begin key "<user>" idem "begin-<post id>" when processing starts; end key "<user>"
       idem "end-<post id>" with the feed update.
"""

from datetime import timedelta

import restate

from harness.world.client import world_action

POLL = timedelta(milliseconds=200)

feed = restate.VirtualObject("UserFeed")


@feed.handler("processPost")
async def process_post(ctx: restate.ObjectContext, post: dict) -> None:
    user, pid = ctx.key(), post["id"]
    await ctx.run_typed(
        "create post", world_action("begin", key=user, idem=f"begin-{pid}", resource=pid)
    )
    for _ in range(post["checks"]):  # "moderation still pending, will check again"
        await ctx.sleep(POLL)
    await ctx.run_typed(
        "update feed", world_action("end", key=user, idem=f"end-{pid}", resource=pid)
    )


app = restate.app(services=[feed])
