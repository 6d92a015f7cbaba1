"""Payment signals, version 2: the same service with one more journaled step.

`process` first records the amount check in the journal (`ctx.run("validate")`), then does
what version 1 does. A correct upgrade lets the invocations that began on version 1 finish
there and sends new ones here; an in-place upgrade (the same endpoint re-registered with
`force`) replays version 1's journals against this code, which takes another path.
"""

import restate

from . import payment_signals as v1

payments = restate.Service("PaymentsWithTimeout")


@payments.handler()
async def process(ctx: restate.Context, req: dict) -> dict:
    async def validate() -> bool:
        return req["amount"] > 0

    await ctx.run_typed("validate", validate)  # new in version 2
    return await v1.process(ctx, req)


payments.handler()(v1.confirm)
app = restate.app(services=[payments])
