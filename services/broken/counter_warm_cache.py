"""BROKEN counter: audited counters rely on a per-process cache that an earlier call warmed.

Same API as services/counter.py. The first add of an audited counter (c0, c10) opens an
audit session in a module-level dict; later adds of it take their session from there. A
kill of the service empties the dict while Restate still holds the counter's value, so
from then on every add of that counter raises (a retryable error) on every attempt:
Restate retries it for ever and queues every later call to the key behind it. The key is
wedged, with no journal mismatch: the code is deterministic, it just never makes progress
again. (Two keys, not all twenty: the client's retries against a wedged key take seconds
each, and a control should not cost CI minutes.)
"""

import restate

counter = restate.VirtualObject("Counter")
AUDITED = {"c0", "c10"}
SESSIONS: dict[str, str] = {}


@counter.handler()
async def add(ctx: restate.ObjectContext, delta: int) -> int:
    value = await ctx.get("value", type_hint=int)
    if ctx.key() in AUDITED and value is None:
        SESSIONS[ctx.key()] = f"audit-{ctx.key()}"
    elif ctx.key() in AUDITED and ctx.key() not in SESSIONS:
        raise RuntimeError(f"no audit session for {ctx.key()}: the cache was never warmed")
    ctx.set("value", (value or 0) + delta)
    return (value or 0) + delta


@counter.handler(kind="shared")
async def get(ctx: restate.ObjectSharedContext) -> int:
    return await ctx.get("value", type_hint=int) or 0


app = restate.app(services=[counter])
