// The bundled `payments` contract (harness/bundled/services/payments.py) in JavaScript:
// a virtual object `Payments` keyed by payment id with create / get / refund, charging
// through the world's gateway ($CHAOS_WORLD_URL) inside ctx.run. `chargeKey` is the one
// thing the correct service and its broken variant do differently.
import http2 from "node:http2";
import * as restate from "@restatedev/restate-sdk";

async function world(op, body) {
  const resp = await fetch(`${process.env.CHAOS_WORLD_URL}/call/${op}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await resp.json();
  if (resp.status === 402) return { declined: true }; // a decline is an answer
  if (resp.status !== 200) throw new Error(`${op}: HTTP ${resp.status}`); // retried
  return answer;
}

// The same calls made as a team's service makes them: its provider's own HTTP API at the
// base URL its configuration gives ($STRIPE_API_BASE), the idempotency key in the
// Idempotency-Key header (none if `idem` is null). Under test that URL is the world's, which
// routes the API onto its operations (the adapter's ROUTES).
export async function stripe(op, { key, idem, amount, account }) {
  const headers = { "content-type": "application/json" };
  if (idem) headers["Idempotency-Key"] = idem;
  const resp = await fetch(`${process.env.STRIPE_API_BASE}/v1/${op}s`, {
    method: "POST",
    headers,
    body: JSON.stringify({ amount, customer: account, metadata: { payment: key } }),
  });
  const answer = await resp.json();
  if (resp.status === 402) return { declined: true };
  if (resp.status !== 200) throw new Error(`${op}: HTTP ${resp.status}`); // retried
  return answer;
}

export function paymentsObject(chargeKey, call = world) {
  return restate.object({
    name: "Payments",
    handlers: {
      create: async (ctx, req) => {
        const existing = await ctx.get("payment");
        if (existing) return existing;
        if (!Number.isInteger(req?.amount) || req.amount <= 0) {
          throw new restate.TerminalError("amount must be a positive integer", { errorCode: 400 });
        }
        const id = ctx.key;
        const charged = await ctx.run("charge", () =>
          call("charge", { key: id, idem: chargeKey(id), amount: req.amount, account: req.account }),
        );
        const payment = {
          id,
          amount: req.amount,
          account: req.account,
          status: charged.declined ? "declined" : "completed",
          charge_id: charged.id ?? null,
        };
        ctx.set("payment", payment);
        return payment;
      },
      get: restate.handlers.object.shared(async (ctx) => (await ctx.get("payment")) ?? null),
      refund: async (ctx) => {
        const payment = await ctx.get("payment");
        if (!payment) throw new restate.TerminalError("no such payment", { errorCode: 404 });
        if (payment.status !== "completed") return payment;
        await ctx.run("refund", () =>
          call("refund", {
            key: payment.id,
            idem: `refund-${payment.id}`,
            amount: payment.amount,
            account: payment.account,
          }),
        );
        const refunded = { ...payment, status: "refunded" };
        ctx.set("payment", refunded);
        return refunded;
      },
    },
  });
}

// Serve on 127.0.0.1:$PORT, HTTP/2 as restate-server expects.
export function serve(service) {
  const handler = restate.endpoint().bind(service).http2Handler();
  http2.createServer(handler).listen(Number(process.env.PORT), "127.0.0.1");
}
