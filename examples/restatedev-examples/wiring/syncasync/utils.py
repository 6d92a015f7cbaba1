"""The example's stubs wired to the harness's world: the upload is a world call taking the
example's own ETA (1.5 s or 10 s, drawn per attempt as the example does), the email a
world email. The bucket is named by the upload (the scenario reads the expected URL)."""

import json
import logging
import os
import random
import urllib.request

import aiohttp


async def _world(op: str, timeout: float, **body) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{os.environ['CHAOS_WORLD_URL']}/call/{op}", json=body,
                          timeout=aiohttp.ClientTimeout(total=timeout)) as r:
            r.raise_for_status()


async def create_s3_bucket(key: str) -> str:
    return f"https://bucket.example/{key}"


async def upload_data(target: str, key: str) -> None:
    time_remaining = 1.5 if random.random() < 0.5 else 10
    logging.info(f"Uploading data to target {target}. ETA: {time_remaining}s")
    await _world("upload", 30, key=key, idem=f"upload-{key}", latency_ms=int(time_remaining * 1000))


async def send_email(email: str, url: str, key: str) -> None:
    await _world("email", 10, key=f"{key}:url", resource=url)
