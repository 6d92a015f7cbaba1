// Correct: the gateway's idempotency key is derived from the payment id, the same on every
// attempt, so a retry after a crash between the charge and its journal entry is deduplicated.
import { paymentsObject, serve } from "./lib.mjs";

serve(paymentsObject((id) => `charge-${id}`));
