"""Payment signals and durable timers (seed 000 payment signals, seed 004 external events
and timers).

`process` creates an awakeable, starts the payment at the provider (the world's gateway) in
`ctx.run`, handing over the awakeable's id as its callback reference, and then waits for
whichever comes first: the provider's webhook, which reaches `confirm` through the ingress
and resolves the awakeable, or a durable timer (TIMEOUT). On the timeout it cancels the
payment at the provider, once (in `ctx.run`, keyed by the payment). Both the awakeable and
the timer are in Restate's log: they survive kills of the service and of the server.

Guarantee: each payment ends exactly one way: confirmed, or cancelled once after the
timeout; never both; a webhook that arrives after the cancel (late, or a second delivery)
changes nothing.

API: Service `PaymentsWithTimeout`: process({"id", "amount"}) -> {"payment", "status"}
     (status "confirmed" or "cancelled"); confirm({"id": awakeable id, ...}) (the webhook).
World: charge key "<id>" carrying the webhook; cancel key "<id>".
"""

from datetime import timedelta

import restate

from harness.world.client import world_action

TIMEOUT = timedelta(seconds=2)
WEBHOOK_PATH = "/PaymentsWithTimeout/confirm"

payments = restate.Service("PaymentsWithTimeout")


def start_payment(pid: str, amount: int, callback_id: str):
    return world_action(
        "charge",
        key=pid,
        idem=f"pay-{pid}",
        amount=amount,
        webhook={"path": WEBHOOK_PATH, "body": {"id": callback_id, "payment": pid}},
    )


@payments.handler()
async def process(ctx: restate.Context, req: dict) -> dict:
    pid = req["id"]
    callback_id, confirmation = ctx.awakeable(type_hint=dict)
    await ctx.run_typed("pay", start_payment(pid, req["amount"], callback_id))
    match await restate.select(confirmation=confirmation, timeout=ctx.sleep(TIMEOUT)):
        case ["confirmation", _]:
            return {"payment": pid, "status": "confirmed"}
        case _:
            await ctx.run_typed("cancel", world_action("cancel", key=pid, idem=f"cancel-{pid}"))
            return {"payment": pid, "status": "cancelled"}


@payments.handler()
async def confirm(ctx: restate.Context, hook: dict) -> None:
    ctx.resolve_awakeable(hook["id"], hook)


app = restate.app(services=[payments])
