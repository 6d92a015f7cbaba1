// The payments contract calling a Stripe-like API with fetch, as a team's service does
// (lib.mjs `stripe`): `node payments-http.mjs` sends a stable Idempotency-Key; the broken
// variants (negative controls) `none` (no key) and `random` (a new key per attempt).
import { randomUUID } from "node:crypto";
import { paymentsObject, serve, stripe } from "./lib.mjs";

const keys = {
  stable: (id) => `charge-${id}`,
  none: () => null,
  random: () => randomUUID(),
};
serve(paymentsObject(keys[process.argv[2] ?? "stable"], stripe));
