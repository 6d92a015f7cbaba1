import json
import os
import random
import restate
import urllib.error
import urllib.request
import uuid

from datetime import timedelta, datetime
from restate import TerminalError

from app.types import PaymentRequest, PurchaseTicketRequest


def fail_on_netflix(subscription: str):
    if subscription == "Netflix":
        message = '[👻 SIMULATED] "Netflix subscription failed: Netflix API down..."'
        print(message)
        raise Exception(message)


def terminal_error_on_disney(subscription: str):
    if subscription == "Disney":
        message = '[👻 SIMULATED] "Disney subscription is not available in this region"'
        print(message)
        raise TerminalError(message)


# <start_subscription>
def _world(op: str, key: str, idem=None) -> dict:
    """Wired to the harness's world (restate-chaos): the example's mocks now make their
    effect there; a 402 is a decline (terminal), any other failure is retried."""
    return _post(op, {"key": key, "idem": idem})


def _post(op: str, fields: dict) -> dict:
    body = json.dumps(fields).encode()
    req = urllib.request.Request(f"{os.environ['CHAOS_WORLD_URL']}/call/{op}", body,
                                 {"content-type": "application/json"})
    try:
        return json.loads(urllib.request.urlopen(req, timeout=30).read() or b"{}")
    except urllib.error.HTTPError as e:
        if e.code == 402:
            raise TerminalError(f"{op} of {fields.get('key')} declined") from e
        raise


def create_subscription(user_id: str, subscription: str, payment_ref: str) -> str:
    fail_on_netflix(subscription)
    terminal_error_on_disney(subscription)
    _world("reserve", f"{user_id}:{subscription}")
    print(f">>> Created subscription {subscription} for user {user_id}")
    return "SUCCESS"


# <end_subscription>


def create_recurring_payment(credit_card: str, payment_id: str) -> str:
    """Mock function to create recurring payment (the harness's adapter passes the user as
    the credit card: the world names the payment "<user>:pay", its idempotency key the
    example's payment id)"""
    _world("charge", f"{credit_card}:pay", idem=payment_id)
    print(f">>> Creating recurring payment for payment {payment_id}")
    return f"payRef-{uuid.uuid4()}"


def send_notification(greeting_id: str, name: str):
    if random.random() < 0.7 and name == "Alice":  # 70% chance of failure
        print(f"[👻 SIMULATED] Failed to send notification: {greeting_id} - {name}")
        raise Exception(
            f"[👻 SIMULATED] Failed to send notification: {greeting_id} - {name}"
        )
    print(f"Notification sent: {greeting_id} - {name}")


def send_reminder(greeting_id: str, name: str):
    if random.random() < 0.7 and name == "Alice":  # 70% chance of failure
        print(f"[👻 SIMULATED] Failed to send reminder: {greeting_id}")
        raise Exception(f"[👻 SIMULATED] Failed to send reminder: {greeting_id}")
    print(f"Reminder sent: {greeting_id}")


def day_before(concert_date: str) -> timedelta:
    """Calculate delay until day before concert - equivalent to Utils.dayBefore"""
    try:
        # Parse concert date
        concert_datetime = datetime.fromisoformat(concert_date)

        # Ensure both datetimes have the same timezone awareness
        if concert_datetime.tzinfo is not None:
            # Concert date is timezone-aware, make now timezone-aware too
            from datetime import timezone

            now = datetime.now(timezone.utc)
            if concert_datetime.tzinfo != timezone.utc:
                # Convert concert_datetime to UTC for consistent comparison
                concert_datetime = concert_datetime.astimezone(timezone.utc)
        else:
            # Concert date is timezone-naive, use naive datetime for now
            now = datetime.now()

        # Calculate delay until day before concert
        one_day_before = concert_datetime - timedelta(days=1)
        delay = one_day_before - now

        if delay.total_seconds() < 0:
            print(f"Reminder date is in the past, cannot schedule reminder.")
            return timedelta(0)

        print(f"Scheduling reminder for {concert_date} with delay {delay}")
        return delay

    except ValueError as e:
        print(f"Invalid date format: {concert_date}")
        return timedelta(0)


CONFIRMED_BY = "PaymentsWithTimeout"  # the service whose confirm the webhook calls (wiring)


def init_payment(req: PaymentRequest, payment_id: str, confirmation_id: str) -> str:
    """Mock function to initiate payment (wired: a world charge named by the order, the
    example's payment id as its idempotency key, the provider's confirmation planned as a
    webhook to PaymentsWithTimeout/confirm; the payment's reference is the provider's)"""
    hook = {"path": f"/{CONFIRMED_BY}/confirm",
            "body": {"id": confirmation_id, "result": {"success": True, "transactionId": payment_id}}}
    body = {"key": req.order_id, "idem": payment_id, "amount": req.amount,
            "resource": f"payRef-{uuid.uuid4()}", "webhook": hook}
    answer = _post("charge", body)
    print(f">>> Initiating external payment {payment_id}")
    return answer["resource"]


def cancel_payment(pay_ref: str) -> None:
    """Mock function to cancel payment (wired: the provider knows the payment by its
    reference, and cancels it under the order's name)"""
    url = f"{os.environ['CHAOS_WORLD_URL']}/ledger"
    ledger = json.loads(urllib.request.urlopen(url, timeout=30).read())
    keys = [e["key"] for e in ledger["effects"] if e["op"] == "charge" and e.get("resource") == pay_ref]
    if keys:
        _world("cancel", keys[0], idem=f"cancel-{pay_ref}")
    print(f">>> Canceling external payment with ref {pay_ref}")


def remove_recurring_payment(payment_id: str) -> None:
    """Mock function to remove recurring payment: the provider knows the payment by its id
    (the world's ledger), and refunds it under the payment's name"""
    url = f"{os.environ['CHAOS_WORLD_URL']}/ledger"
    ledger = json.loads(urllib.request.urlopen(url, timeout=30).read())
    keys = [e["key"] for e in ledger["effects"] if e["op"] == "charge" and e["idem"] == payment_id]
    if keys:  # a payment never made has nothing to refund
        _world("refund", keys[0], idem=f"refund-{payment_id}")
    print(f"Removing recurring payment: {payment_id}")


def remove_subscription(user_id: str, subscription: str) -> None:
    """Mock function to remove subscription"""
    _world("cancel", f"{user_id}:{subscription}")
    print(f"Removing subscription for user: {user_id}, subscription: {subscription}")


# Payment Service
payment_service = restate.Service("PaymentService")


@payment_service.handler()
async def charge(ctx: restate.Context, req: PurchaseTicketRequest) -> str:
    # Simulate payment processing
    payment_id = str(ctx.uuid())
    print(f"Processing payment for ticket {req.ticket_id} with payment ID {payment_id}")
    _post("charge", {"key": f"{req.ticket_id}:pay", "idem": payment_id, "amount": int(req.price)})  # wired: the print's charge
    return payment_id


# Email Service
email_service = restate.Service("EmailService")


@email_service.handler()
async def email_ticket(ctx: restate.Context, req: PurchaseTicketRequest) -> None:
    print(f"Sending ticket to {req.customer_email} for concert on {req.concert_date}")
    _world("email", f"{req.ticket_id}:ticket", idem=f"ticket-{req.ticket_id}")  # wired: the print's email


@email_service.handler()
async def send_reminder_email(ctx: restate.Context, req: PurchaseTicketRequest) -> None:
    print(f"Sending reminder for concert on {req.concert_date} to {req.customer_email}")
    _world("email", f"{req.ticket_id}:reminder", idem=f"reminder-{req.ticket_id}")  # wired: the print's email
