"""Whether Restate serves: every partition has a leader that answers.

A restate-server whose health and SQL answer is up, not yet serving: after a restart its
partitions need a leader again, which took about 4 s on a busy 2-core machine while SQL
answered after 2 s; a timer due meanwhile fires that much later. The probe asks the ingress
for the output of an invocation that does not exist, one per partition: its id carries a
partition key in that partition's range, the ingress hands the request to the partition's
leader, and only a leader answers 404 "invocation not found". So "every probe answered"
means every partition has a leader serving. Nothing is written: the probe reads.
"""

from __future__ import annotations

import asyncio

import aiohttp

# Restate's resource ids are base62 in this alphabet (digits, lower, upper), each number
# fixed-width and taken big-endian (crates/types/src/base62_util.rs)
ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
PROBE_UUID = 0x636861_6F73_70726F6265  # "chaosprobe": no invocation has it
NOT_FOUND = "invocation not found"


def _base62(value: int, nbytes: int) -> str:
    width = -(-nbytes * 8 // 6)  # 6 bits a character, rounded up
    value = int.from_bytes(value.to_bytes(nbytes, "little"), "big")  # Rust's to_be() on x86
    out = ""
    while value:
        value, digit = divmod(value, 62)
        out = ALPHABET[digit] + out
    return out.rjust(width, "0")


def invocation_id(partition_key: int, uuid: int = PROBE_UUID) -> str:
    """An invocation id ("inv_1" + partition key + uuid) whose partition key is given."""
    return "inv_1" + _base62(partition_key, 8) + _base62(uuid, 16)


def probe_ids(partitions: int) -> list[str]:
    """One id per partition: the middle of each of the equal partition key ranges."""
    size = 2**64 // partitions
    return [invocation_id(i * size + size // 2) for i in range(partitions)]


async def partitions_serving(
    session: aiohttp.ClientSession, ingress_url: str, ids: list[str], within: float = 1.0
) -> int:
    """How many of the partitions (`ids`) answered through the ingress at `ingress_url`
    within `within` seconds: a leader that answers "invocation not found"."""

    async def one(iid: str) -> bool:
        url = f"{ingress_url}/restate/invocation/{iid}/output"
        try:
            async with asyncio.timeout(within), session.get(url) as resp:
                return resp.status == 404 and NOT_FOUND in await resp.text()
        except (TimeoutError, aiohttp.ClientError, OSError):
            return False

    return sum(await asyncio.gather(*(one(i) for i in ids)))
