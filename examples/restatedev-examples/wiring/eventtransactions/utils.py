"""The example's stubs wired to the harness's world: creating a post begins its processing
and updating the feed ends it (the user as key); the moderation's random 80% "pending"
and the 5 s polls are the example's own. The post's id is the one the client sent."""

import logging
import os
import random

import aiohttp
from pydantic import BaseModel


class SocialMediaPost(BaseModel):
    content: str
    metadata: str


class Status:
    PENDING = "PENDING"
    DONE = "DONE"


async def _world(op: str, user: str, idem: str) -> None:
    async with aiohttp.ClientSession() as s:
        body = {"key": user, "idem": idem}
        async with s.post(f"{os.environ['CHAOS_WORLD_URL']}/call/{op}", json=body) as r:
            r.raise_for_status()


async def create_post(user_id: str, post: SocialMediaPost) -> str:
    await _world("begin", user_id, f"begin-{post.content}")
    return post.content


def get_post_status(post_id: str) -> str:
    if random.random() < 0.8:
        logging.info(f"Content moderation for post {post_id} is still pending...")
        return Status.PENDING
    return Status.DONE


async def update_user_feed(user: str, post_id: str) -> None:
    await _world("end", user, f"end-{post_id}")
