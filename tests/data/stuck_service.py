"""A service whose handler fails with a retryable error forever: it never completes."""

import restate

stuck = restate.Service("Stuck")


@stuck.handler()
async def run(ctx: restate.Context) -> str:
    raise RuntimeError("transient failure that never heals")


app = restate.app(services=[stuck])
