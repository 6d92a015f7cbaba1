"""BROKEN payment signals: the webhook handler takes a delivery numbered 2 or more for a
retry of one already handled, and drops it.

Same API as services/payment_signals.py. A provider numbers its deliveries; dropping the
later ones looks safe while they come in order. But deliveries can overtake each other:
when the second one comes first, it is dropped, and the first one, coming late, finds the
payment cancelled by its timeout although the provider confirmed it in time.
"""

import restate

from .. import payment_signals as good

payments = restate.Service("PaymentsWithTimeout")


@payments.handler()
async def confirm(ctx: restate.Context, hook: dict) -> None:
    if hook.get("delivery", 1) > 1:  # the bug: "a redelivery: the first one was handled"
        return
    ctx.resolve_awakeable(hook["id"], hook)


payments.handler()(good.process)
app = restate.app(services=[payments])
