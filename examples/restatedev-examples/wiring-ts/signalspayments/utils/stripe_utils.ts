// The example's Stripe stand-ins wired to the harness's world (same exports): a payment
// intent is a world charge keyed by the payment method id (the adapter sends the payment id
// there), answered "processing", its webhook planned by the world as a Stripe event that
// carries the callback id; the webhook's signature check is a stand-in.
import { TerminalError } from "@restatedev/restate-sdk";
import type Stripe from "stripe";
import { world } from "../../world";

export const RESTATE_CALLBACK_ID = "restate_callback_id";

export function isPaymentIntent(event: Stripe.Event) {
  return event.type.startsWith("payment_intent");
}

export function parseWebhookCall(requestBody: any, _signature: string | string[] | undefined) {
  return JSON.parse(new TextDecoder().decode(requestBody)) as Stripe.Event;
}

export async function createPaymentIntent(request: {
  paymentMethodId: string;
  amount: number;
  idempotencyKey: string;
  intentWebhookId: string;
  delayedStatus?: boolean;
}): Promise<Stripe.PaymentIntent> {
  const id = request.paymentMethodId;
  const event = {
    type: "payment_intent.succeeded",
    data: { object: { id, status: "succeeded", metadata: { [RESTATE_CALLBACK_ID]: request.intentWebhookId } } },
  };
  await world("charge", {
    key: id,
    idem: request.idempotencyKey,
    amount: request.amount,
    webhook: { path: "/payments/processWebhook", body: event },
  });
  const status = request.delayedStatus ? "processing" : "succeeded";
  return { id, status } as Stripe.PaymentIntent;
}

export function ensureSuccess(status: string) {
  switch (status) {
    case "succeeded":
      return;
    case "requires_payment_method":
    case "canceled":
      throw new TerminalError("Payment declined: " + status);
    default:
      throw new Error("Unhandled status: " + status);
  }
}

export function verifyPaymentRequest(request: any): void {
  if (!request?.amount) {
    throw new TerminalError("'amount' missing or zero in request");
  }
  if (!request?.paymentMethodId) {
    throw new TerminalError("'paymentMethodId' missing in request");
  }
}
