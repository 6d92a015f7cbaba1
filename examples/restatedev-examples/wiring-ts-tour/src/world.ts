// The harness's world, where the examples' stand-ins for providers now make their effects
// (the URL is in $CHAOS_WORLD_URL). A decline (402) is terminal, anything else retryable.
import * as restate from "@restatedev/restate-sdk";

export async function world(op: string, body: Record<string, unknown>): Promise<unknown> {
  const r = await fetch(`${process.env.CHAOS_WORLD_URL}/call/${op}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (r.status === 402) {
    throw new restate.TerminalError(`${op} of ${body.key} declined`);
  }
  if (!r.ok) {
    throw new Error(`${op} of ${body.key}: HTTP ${r.status}`);
  }
  return r.json();
}
