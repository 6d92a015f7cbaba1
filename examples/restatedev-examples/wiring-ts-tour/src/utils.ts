import * as restate from "@restatedev/restate-sdk";
import { TerminalError } from "@restatedev/restate-sdk";
import { randomUUID } from "node:crypto";
// wired to the harness's world (restate-chaos): the mocks below make their effects there
import { world } from "./world";

async function ledger(): Promise<{ effects: { op: string; key: string; idem?: string; resource?: string }[] }> {
  const r = await fetch(`${process.env.CHAOS_WORLD_URL}/ledger`);
  return (await r.json()) as any;
}

// TYPES

export type SubscriptionRequest = {
  userId: string;
  creditCard: string;
  subscriptions: string[];
};

export type PurchaseTicketRequest = {
  ticketId: string;
  price: number;
  customerEmail: string;
  concertDate: string;
};

export type PaymentRequest = {
  amount: number;
  currency: string;
  customerId: string;
  orderId: string;
};

export type PaymentResult = {
  success: boolean;
  transactionId?: string;
  errorMessage?: string;
};

// HELPERS

function failOnNetflix(subscription: string) {
  if (subscription === "Netflix") {
    const message = `[👻 SIMULATED] "Netflix subscription failed: Netflix API down..."`;
    console.error(message);
    throw new Error(message);
  }
}

function terminalErrorOnDisney(subscription: string) {
  if (subscription === "Disney") {
    const message = `[👻 SIMULATED] "Disney subscription is not available in this region"`;
    console.error(message);
    throw new TerminalError(message);
  }
}

// <start_subscription>
export async function createSubscription(
  userId: string,
  subscription: string,
  _paymentRef: string,
): Promise<string> {
  failOnNetflix(subscription);
  terminalErrorOnDisney(subscription);
  await world("reserve", { key: `${userId}:${subscription}` });
  console.log(`>>> Created subscription ${subscription} for user ${userId}`);
  return "SUCCESS";
}
// <end_subscription>

export async function removeSubscription(userId: string, subscription: string) {
  await world("cancel", { key: `${userId}:${subscription}` });
  console.log(`>>> Removed subscription ${subscription} for user ${userId}`);
}

export async function createRecurringPayment(
  _creditCard: string,
  paymentId: any,
): Promise<string> {
  // the harness's adapter passes the user as the credit card: the payment is "<user>:pay"
  await world("charge", { key: `${_creditCard}:pay`, idem: paymentId });
  console.log(`>>> Creating recurring payment ${paymentId}`);
  return "payment-" + randomUUID().toString();
}

export async function removeRecurringPayment(paymentId: any) {
  // the provider knows the payment by its id, and refunds it under the payment's name
  const charge = (await ledger()).effects.find((e) => e.op === "charge" && e.idem === paymentId);
  if (charge) await world("refund", { key: charge.key, idem: `refund-${paymentId}` });
  console.log(`>>> Removing recurring payment ${paymentId}`);
}

export async function initPayment(req: PaymentRequest, paymentId: string, confirmationId: string) {
  // a world charge named by the order, the provider's confirmation planned as a webhook
  const hook = {
    path: "/PaymentsWithTimeout/confirm",
    body: { id: confirmationId, result: { success: true, transactionId: paymentId } },
  };
  const resource = "payRef-" + randomUUID().toString();
  const answer = (await world("charge", {
    key: req.orderId, idem: paymentId, amount: req.amount, resource, webhook: hook,
  })) as { resource: string };
  console.log(`>>> Initiating external payment ${paymentId} \n
  Confirm the payment via: \n
    - For Payments service: curl localhost:8080/Payments/confirm --json '{"id": "${confirmationId}", "result": {"success": true, "transactionId": "txn-123"}}'
    - For PaymentsWithTimeout service: curl localhost:8080/PaymentsWithTimeout/confirm --json '{"id": "${confirmationId}", "result": {"success": true, "transactionId": "txn-123"}}'
  `);
  return answer.resource;
}

export async function cancelPayment(payRef: string) {
  const charge = (await ledger()).effects.find((e) => e.op === "charge" && e.resource === payRef);
  if (charge) await world("cancel", { key: charge.key, idem: `cancel-${payRef}` });
  console.log(`>>> Canceling external payment with ref ${payRef}`);
}

export function dayBefore(concertDate: string): number {
  const concertTime = new Date(concertDate).getTime();
  const now = Date.now();
  const delay = concertTime - now - 24 * 60 * 60 * 1000; // 1 day in milliseconds

  if (delay < 0) {
    console.error("Reminder date is in the past, cannot schedule reminder.");
    return 0; // No delay if the concert is already over
  }

  console.log(`Scheduling reminder for ${concertDate} with delay ${delay}ms`);
  return delay;
}

// SERVICES

export const paymentService = restate.service({
  name: "PaymentService",
  handlers: {
    charge: async (
      ctx: restate.Context,
      req: PurchaseTicketRequest,
    ): Promise<string> => {
      // Simulate payment processing
      const paymentId = ctx.rand.uuidv4();
      console.log(
        `Processing payment for ticket ${req.ticketId} with payment ID ${paymentId}`,
      );
      return paymentId;
    },
  },
});

export const emailService = restate.service({
  name: "EmailService",
  handlers: {
    emailTicket: async (
      ctx: restate.Context,
      req: PurchaseTicketRequest,
    ): Promise<void> => {
      console.log(
        `Sending ticket to ${req.customerEmail} for concert on ${req.concertDate}`,
      );
    },
    sendReminder: async (
      ctx: restate.Context,
      req: PurchaseTicketRequest,
    ): Promise<void> => {
      console.log(
        `Sending reminder for concert on ${req.concertDate} to ${req.customerEmail}`,
      );
    },
  },
});
