"""Adapters that aim the bundled scenarios at restatedev/examples' Python patterns
(python/patterns-use-cases), one contract subclass per example, in the example's own API.
Each states what it maps and what the example does differently from the bundled service
(an assumption it overrides). See README.md."""

import time
from datetime import UTC, datetime, timedelta

from harness.bundled.scenarios.scenario_event_processing import FeedContract, PackagesContract
from harness.bundled.scenarios.scenario_fanout import FanOutContract
from harness.bundled.scenarios.scenario_machines import MachinesContract
from harness.bundled.scenarios.scenario_object_state import SubscriptionListContract
from harness.bundled.scenarios.scenario_payment_signals import SignalsContract
from harness.bundled.scenarios.scenario_payment_tokens import TokensContract
from harness.bundled.scenarios.scenario_reservations import ProductsContract
from harness.bundled.scenarios.scenario_sagas import TripsContract
from harness.bundled.scenarios.scenario_scheduling import TrackerContract
from harness.bundled.scenarios.scenario_subscription_retries import SubscriptionsContract
from harness.bundled.scenarios.scenario_sync_async import UploadContract
from harness.bundled.scenarios.scenario_task_queue import TasksContract
from harness.bundled.scenarios.scenario_tickets import TicketsContract

from harness import Request


class ExampleProducts(ProductsContract):
    """durablerpc: the `product` object's reserve() -> bool, no body."""

    def reserve(self, product, reservation, idem):
        return Request("product", "reserve", key=product, idem=idem)

    def won(self, answer):
        return answer is True


class ExampleFeed(FeedContract):
    """eventtransactions: UserFeed.processPost({"content", "metadata"}); its moderation
    polls every 5 s, 80% pending, whatever `checks` says."""

    def post(self, user, post, seq, checks, idem):
        body = {"content": post, "metadata": str(seq)}
        return Request("UserFeed", "processPost", key=user, body=body, idem=idem, send=True)


class ExamplePackages(PackagesContract):
    """eventenrichment: package-tracker; an update's number travels as its timestamp."""

    def register(self, package, recipient, idem):
        body = {"final_destination": recipient}
        return Request("package-tracker", "registerPackage", key=package, body=body, idem=idem)

    def update(self, package, n, location, idem):
        body = {"location": location, "timestamp": str(n)}
        return Request(
            "package-tracker", "updateLocation", key=package, body=body, idem=idem, send=True
        )

    def info(self, package):
        return Request("package-tracker", "getPackageInfo", key=package)

    def locations(self, answer):
        if answer is None:
            return None
        return [
            {"n": int(u["timestamp"]), "location": u["location"]}
            for u in answer.get("locations", [])
        ]


class ExampleTrips(TripsContract):
    """sagas: BookingWorkflow.run, a booking per customer; a failed booking is a terminal
    error. It sets no step timeout, so it runs with LOST_ANSWER=0 (no lost answers)."""

    def book(self, booking, idem):
        body = {
            "customer_id": booking,
            "flight": {"flight_id": "f1", "passenger_name": booking},
            "car": {"pickup_location": "here", "rental_date": "2026-12-24"},
            "hotel": {"arrival_date": "2026-12-24", "departure_date": "2026-12-27"},
        }
        return Request("BookingWorkflow", "run", body=body, idem=idem)


class ExampleMachines(MachinesContract):
    """statefulactors: machine-operator setUp / tearDown (5 s each), no status read."""

    def set_up(self, machine, idem):
        return Request("machine-operator", "setUp", key=machine, idem=idem)

    def tear_down(self, machine, idem):
        return Request("machine-operator", "tearDown", key=machine, idem=idem)

    def status(self, machine):
        return None


class ExampleTasks(TasksContract):
    """queueing: AsyncTaskWorker.run({"id"}), sent with a delay."""

    def run(self, task, delay_ms, idem):
        return Request(
            "AsyncTaskWorker", "run", body={"id": task}, idem=idem, send=True, delay_ms=delay_ms
        )


class ExampleTracker(TrackerContract):
    """schedulingtasks: PaymentTracker fed Stripe events; a reminder a day."""

    interval_s = 86400.0  # send_delay=timedelta(days=1)
    each_failure_reminds = True  # every onPaymentFailure sends a reminder at once

    def _event(self, handler, invoice, event, delay_ms):
        body = {"type": handler, "created": 0, "data": {"id": event, "customer": invoice}}
        return Request(
            "PaymentTracker", handler, key=invoice, body=body, idem=event, send=True,
            delay_ms=delay_ms,
        )  # fmt: skip


class ExampleUpload(UploadContract):
    """syncasync: DataUploadService.run() takes no input (the example draws its own ETA),
    resultAsEmail takes the address as a bare string."""

    def submit(self, upload, eta_ms):
        return Request("DataUploadService", "run", key=upload, send=True, idempotent=True)

    def by_email(self, upload, email, idem):
        return Request("DataUploadService", "resultAsEmail", key=upload, body=email, idem=idem)


class ExampleSignals(SignalsContract):
    """signalspayments: payments.processPayment({amount, payment_method_id, delayed_status})
    answers nothing once the webhook confirmed it; it has no timeout (it waits for the
    webhook for ever) and never cancels."""

    timeout_s = 86_400.0 * 365  # no timeout: a year stands for never

    def process(self, payment, amount, idem):
        body = {"amount": amount, "payment_method_id": payment, "delayed_status": True}
        return Request("payments", "processPayment", body=body, idem=idem)

    def outcome(self, answer):
        return "confirmed"


class ExampleTokens(TokensContract):
    """statemachinepayments: PaymentProcessor.makePayment({account_id, amount_cents})
    answers a message, cancelPayment nothing, no status read; tokens expire after 1 day;
    the accounts are the example's own `account` object (not the world)."""

    expiry_ms = 86_400_000

    def make(self, token, account, amount, idem):
        body = {"account_id": account, "amount_cents": amount}
        return Request("PaymentProcessor", "makePayment", key=token, body=body, idem=idem)

    def cancel(self, token, idem):
        return Request("PaymentProcessor", "cancelPayment", key=token, idem=idem)

    def status(self, token):
        return None

    def paid_status(self, answer):
        text = str(answer or "")
        if "successful" in text or "already completed" in text:
            return "COMPLETED"
        if "already cancelled" in text:
            return "CANCELLED"
        return None


class ExampleFanOut(FanOutContract):
    """parallelizework: FanOutWorker.run({description}) splits the description at commas
    into subtasks and answers {description} joining "<subtask>: DONE"; each subtask sleeps
    0-10 s; the aggregate is a plain function, not recorded in the world."""

    aggregate_recorded = False

    def run(self, job, subtasks, idem):
        body = {"description": ",".join(f"{job}:{i}" for i in range(subtasks))}
        return Request("FanOutWorker", "run", body=body, idem=idem)

    def total(self, answer):
        return answer["description"].count(": DONE")


# TypeScript (typescript/patterns-use-cases): the same patterns, in camelCase


class TsTrips(ExampleTrips):
    """sagas/booking_workflow.ts: the same workflow, its request in camelCase."""

    def book(self, booking, idem):
        body = {
            "customerId": booking,
            "flight": {"flightId": "f1", "passengerName": booking},
            "car": {"pickupLocation": "here", "rentalDate": "2026-12-24"},
            "hotel": {"arrivalDate": "2026-12-24", "departureDate": "2026-12-27"},
        }
        return Request("BookingWorkflow", "run", body=body, idem=idem)


class TsMachines(ExampleMachines):
    """statefulactors/machine_operator.ts: the object is named machineOperator."""

    def set_up(self, machine, idem):
        return Request("machineOperator", "setUp", key=machine, idem=idem)

    def tear_down(self, machine, idem):
        return Request("machineOperator", "tearDown", key=machine, idem=idem)


class TsTokens(ExampleTokens):
    """statemachinepayments/payment_service.ts: the `payments` object, makePayment({accountId,
    amount}) answers "<id> successful: true|false"; tokens expire after 1 hour. (Its repeated
    makePayment answers are swapped: a completed token says "was cancelled before".)"""

    expiry_ms = 3_600_000

    def make(self, token, account, amount, idem):
        body = {"accountId": account, "amount": amount}
        return Request("payments", "makePayment", key=token, body=body, idem=idem)

    def cancel(self, token, idem):
        return Request("payments", "cancelPayment", key=token, idem=idem)

    def paid_status(self, answer):
        return "COMPLETED" if str(answer or "").endswith("successful: true") else None


# Python tour (python/tutorials/tour-of-orchestration-python)


class TourSubscriptions(SubscriptionsContract):
    """getstarted: SubscriptionService.add({userId, creditCard, subscriptions}), a payment
    then each subscription, no compensation (the tour adds it in the sagas chapter). The
    user travels as the credit card, so the world can name the payment (wiring-tour)."""

    service = "SubscriptionService"

    def add(self, user, subscriptions, amount, idem):
        body = {"userId": user, "creditCard": user, "subscriptions": subscriptions}
        return Request(self.service, "add", body=body, idem=idem)


class TourSaga(TourSubscriptions):
    """sagas: SubscriptionSaga.add, the same request; compensates on a terminal error."""

    service = "SubscriptionSaga"


class TourList(SubscriptionListContract):
    """objects: UserSubscriptions.add(subscription: a bare string), getSubscriptions()."""

    def add(self, user, subscription, idem):
        return Request("UserSubscriptions", "add", key=user, body=subscription, idem=idem)

    def read(self, user):
        return Request("UserSubscriptions", "getSubscriptions", key=user)


class TourPayments(SignalsContract):
    """timers: PaymentsWithTimeout.process({amount, currency, customerId, orderId}) waits 30 s
    for the provider's confirmation (an awakeable), else cancels; answers {success, ...}."""

    timeout_s = 30.0

    def process(self, payment, amount, idem):
        body = {"amount": amount, "currency": "EUR", "customerId": payment, "orderId": payment}
        return Request("PaymentsWithTimeout", "process", body=body, idem=idem)

    def outcome(self, answer):
        return "confirmed" if answer["success"] else "cancelled"


class TourParallel(TourSubscriptions):
    """concurrenttasks: ParallelSubscriptionService.add, the same request; the payment, then
    every subscription in parallel (ctx.run each), no compensation."""

    service = "ParallelSubscriptionService"


class TourEventPayments(TourPayments):
    """events: Payments.process, the timers chapter's request and answer, but it waits for
    the provider's confirmation (an awakeable) for ever: no timeout, no cancel."""

    timeout_s = 86_400.0 * 365  # no timeout: a year stands for never

    def process(self, payment, amount, idem):
        request = super().process(payment, amount, idem)
        return Request("Payments", "process", body=request.body, idem=idem)


class TourTickets(TicketsContract):
    """communication: ConcertTicketingService.buy({ticketId, concertDate, price,
    customerEmail}) -> "Ticket purchased successfully ..."; the reminder goes out a day
    before the concert date, an absolute time: the concert is set a day and `LEAD_S` +
    remind_in_ms after the request is made, so the reminder is due then."""

    LEAD_S = 10.0  # the workload is made before it is sent: keep most reminders ahead

    def buy(self, ticket, amount, remind_in_ms, idem):
        due = time.time() + self.LEAD_S + remind_in_ms / 1000
        concert = datetime.fromtimestamp(due, UTC) + timedelta(days=1)
        body = {"ticketId": ticket, "concertDate": concert.isoformat(), "price": amount,
                "customerEmail": f"{ticket}@example.com"}  # fmt: skip
        return Request("ConcertTicketingService", "buy", body=body, idem=idem)

    def reminder_due_s(self, op):
        # the service reminds a day before the concert, or at once when that is past
        concert = datetime.fromisoformat(op.invoke["api_req"]["concertDate"])
        due = (concert - timedelta(days=1)).timestamp()
        return max(0.0, due - op.invoke["wall"])

    def bought(self, answer):
        return "successfully" in str(answer)


class TsFanOut(ExampleFanOut):
    """parallelizework/fan_out_worker.ts: the service is named `worker`; each subtask is a
    call to its runSubtask (a durable sleep of 0-4 s)."""

    def run(self, job, subtasks, idem):
        body = {"description": ",".join(f"{job}:{i}" for i in range(subtasks))}
        return Request("worker", "run", body=body, idem=idem)


class TsTasks(ExampleTasks):
    """queue/async_task_worker.ts: asyncTaskWorker.runTask({id, task}) returns a string."""

    def run(self, task, delay_ms, idem):
        body = {"id": task, "task": task}
        return Request(
            "asyncTaskWorker", "runTask", body=body, idem=idem, send=True, delay_ms=delay_ms
        )


class TsSignals(ExampleSignals):
    """signalspayments/payment_service.ts: the same API in camelCase."""

    def process(self, payment, amount, idem):
        body = {"amount": amount, "paymentMethodId": payment, "delayedStatus": True}
        return Request("payments", "processPayment", body=body, idem=idem)
