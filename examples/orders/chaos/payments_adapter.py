"""Point restate-chaos's bundled payments scenario at Checkout, whose API differs:

    restate-chaos run payments --app payments=orders.service:app \\
        --adapter payments=chaos.payments_adapter:CheckoutPayments

Checkout has one handler, placeOrder, and no refund or read: the scenario then sends no
refunds (reported as not exercised) and judges final state from the answers.
"""

from harness.bundled.scenarios.scenario_payments import PaymentsContract

from harness import Request


class CheckoutPayments(PaymentsContract):
    def create(self, payment: str, amount: int, account: str, idem: str) -> Request:
        order = {"orderId": payment, "customer": account, "totalCents": amount}
        return Request("Checkout", "placeOrder", body=order, idem=idem)

    def refund(self, payment: str, idem: str) -> None:
        return None

    def read(self, payment: str) -> None:
        return None

    def charged(self, answer: dict) -> bool:
        return answer["result"] == "ACCEPTED"
