// A payments service as a team writes it in TypeScript: a virtual object `Payments` keyed by
// payment id (create / get / refund) that charges through its provider's own HTTP API with
// fetch, at the base URL its configuration gives ($STRIPE_API_BASE), with an
// Idempotency-Key header. Nothing in it knows the harness: under test that URL is the
// world's, which routes the API onto its operations (the adapter's ROUTES).
//
//   tsx payments.ts stable   the correct service: one key per payment
//   tsx payments.ts none     broken: no Idempotency-Key (a retried charge charges again)
//   tsx payments.ts random   broken: a new key per attempt (the same, less obviously)
import { randomUUID } from "node:crypto";
import http2 from "node:http2";
import * as restate from "@restatedev/restate-sdk";

type Payment = {
  id: string;
  amount: number;
  account: string;
  status: "completed" | "declined" | "refunded";
  charge_id: string | null;
};
type Charged = { id?: string; declined?: boolean };

const idempotencyKeys: Record<string, (payment: string) => string | null> = {
  stable: (payment) => `charge-${payment}`,
  none: () => null,
  random: () => randomUUID(),
};
const variant = process.argv[2] ?? "stable";
const chargeKey = idempotencyKeys[variant];
if (!chargeKey) throw new Error(`unknown variant ${variant}: stable, none or random`);

async function provider(
  path: string,
  idem: string | null,
  body: Record<string, unknown>,
): Promise<Charged> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (idem) headers["Idempotency-Key"] = idem;
  const resp = await fetch(`${process.env.STRIPE_API_BASE}${path}`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
  if (resp.status === 402) return { declined: true }; // a decline is an answer
  if (resp.status !== 200) throw new Error(`${path}: HTTP ${resp.status}`); // retried
  return (await resp.json()) as Charged;
}

const payments = restate.object({
  name: "Payments",
  handlers: {
    create: async (
      ctx: restate.ObjectContext,
      req: { amount: number; account: string },
    ): Promise<Payment> => {
      const existing = await ctx.get<Payment>("payment");
      if (existing) return existing;
      if (!Number.isInteger(req?.amount) || req.amount <= 0) {
        throw new restate.TerminalError("amount must be a positive integer", { errorCode: 400 });
      }
      const id = ctx.key;
      const charged = await ctx.run("charge", () =>
        provider("/v1/charges", chargeKey(id), {
          amount: req.amount,
          customer: req.account,
          metadata: { payment: id },
        }),
      );
      const payment: Payment = {
        id,
        amount: req.amount,
        account: req.account,
        status: charged.declined ? "declined" : "completed",
        charge_id: charged.id ?? null,
      };
      ctx.set("payment", payment);
      return payment;
    },
    get: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext): Promise<Payment | null> =>
        (await ctx.get<Payment>("payment")) ?? null,
    ),
    refund: async (ctx: restate.ObjectContext): Promise<Payment> => {
      const payment = await ctx.get<Payment>("payment");
      if (!payment) throw new restate.TerminalError("no such payment", { errorCode: 404 });
      if (payment.status !== "completed") return payment;
      await ctx.run("refund", () =>
        provider("/v1/refunds", `refund-${payment.id}`, {
          amount: payment.amount,
          customer: payment.account,
          metadata: { payment: payment.id },
        }),
      );
      const refunded: Payment = { ...payment, status: "refunded" };
      ctx.set("payment", refunded);
      return refunded;
    },
  },
});

// Serve on 127.0.0.1:$PORT, HTTP/2 as restate-server expects.
const handler = restate.endpoint().bind(payments).http2Handler();
http2.createServer(handler).listen(Number(process.env.PORT), "127.0.0.1");
