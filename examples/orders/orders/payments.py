"""The payment provider's client. In production PAYMENTS_URL points at the provider; under
restate-chaos it points at the harness's world (`$CHAOS_WORLD_URL`), which records every
call in its ledger and deduplicates by the idempotency key, as a real provider does."""

import os

import aiohttp


class ProviderDeclined(Exception):
    pass


class ProviderUnavailable(Exception):
    """Transient: retry with the same idempotency key."""


def provider_url() -> str:
    return os.environ.get("PAYMENTS_URL") or os.environ["CHAOS_WORLD_URL"]


async def charge(order_id: str, customer: str, cents: int, idempotency_key: str) -> str:
    """Charge once per idempotency key; returns the provider's payment reference."""
    body = {"key": order_id, "idem": idempotency_key, "amount": cents, "account": customer}
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{provider_url()}/call/charge", json=body) as resp,
        ):
            answer = await resp.json(content_type=None)
            status = resp.status
    except (TimeoutError, aiohttp.ClientError) as e:
        raise ProviderUnavailable(str(e)) from e
    if status == 402:
        raise ProviderDeclined(order_id)
    if status != 200:
        raise ProviderUnavailable(f"HTTP {status}")
    return answer["id"]
