"""The adapter for tests/data/payments_http.py: the bundled Payments API, and the routes that
map its provider's own HTTP API onto the world."""

from harness.bundled.scenarios.scenario_payments import PaymentsContract


class HttpPayments(PaymentsContract):
    """The bundled API; the provider's own HTTP API routed onto the world's operations."""

    WORLD_URL_ENV = ("STRIPE_API_BASE",)
    ROUTES = [
        {
            "method": "POST",
            "path": path,
            "op": op,
            "fields": {
                "key": "body.metadata.payment",
                "amount": "body.amount",
                "account": "body.customer",
            },
            "answer": {"id": "ch_{id}", "object": op, "status": "succeeded"},
            "declined": {"error": {"type": "card_error", "code": "card_declined"}},
        }
        for path, op in (("/v1/charges", "charge"), ("/v1/refunds", "refund"))
    ]
