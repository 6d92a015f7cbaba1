"""The example's Stripe stubs wired to the harness's world (same names and signatures):
a payment intent is a world charge keyed by the payment method id (the adapter sends the
payment id there), answered "processing" with the provider's webhook planned by the world
as a Stripe event carrying the callback id; the webhook's signature check is a stub."""

import json
import os

import aiohttp
from pydantic import BaseModel
from restate.exceptions import TerminalError

RESTATE_CALLBACK_ID = "restate_callback_id"


class PaymentRequest(BaseModel):
    amount: int
    payment_method_id: str
    delayed_status: bool = False


def is_payment_intent(event):
    return event["type"].startswith("payment_intent")


def parse_webhook_call(request_body, signature):
    return json.loads(request_body)


async def create_payment_intent(request: dict) -> dict:
    pid = request["payment_method_id"]
    event = {
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": pid, "status": "succeeded",
                            "metadata": {RESTATE_CALLBACK_ID: request["intent_webhook_id"]}}},
    }
    body = {"key": pid, "idem": request["idempotency_key"], "amount": request["amount"],
            "webhook": {"path": "/payments/processWebhook", "body": event}}
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{os.environ['CHAOS_WORLD_URL']}/call/charge", json=body) as r:
            if r.status == 402:
                raise TerminalError("Payment declined")
            r.raise_for_status()
    return {"id": pid, "status": "processing" if request.get("delayed_status") else "succeeded"}


def ensure_success(status):
    if status == "succeeded":
        return
    elif status in ["requires_payment_method", "canceled"]:
        raise TerminalError(f"Payment declined: {status}")
    else:
        raise Exception(f"Unhandled status: {status}")


def verify_payment_request(request: PaymentRequest):
    if not request.amount or request.amount == 0:
        raise TerminalError("'amount' missing or zero in request")
    if not request.payment_method_id or request.payment_method_id == "":
        raise TerminalError("'paymentMethodId' missing in request")
