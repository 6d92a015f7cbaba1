// The example's stand-ins wired to the harness's world: the reminder is a world email, the
// escalation an event, both named by the invoice (the event's customer). Neither passes
// an idempotency key, as the example's stand-ins do not.
import { world } from "../../world";

export type StripeEvent = {
  type: string;
  created: number;
  data: {
    id: string;
    customer: string;
  };
};

export async function sendReminderEmail(event: StripeEvent) {
  console.log(`Sending reminder email for event: ${event.data.id}`);
  await world("email", { key: `${event.data.customer}:reminder` });
}

export async function escalateToHuman(event: StripeEvent) {
  console.log(`Escalating to ${event.data.id} invoice to support team`);
  await world("event", { key: `${event.data.customer}:escalation` });
}
