// BROKEN (a negative control): a fresh idempotency key on every attempt, so a crash right
// after the gateway charged makes the retry charge again.
import { randomUUID } from "node:crypto";
import { paymentsObject, serve } from "./lib.mjs";

serve(paymentsObject(() => randomUUID()));
