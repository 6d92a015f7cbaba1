// The example's machine stubs wired to the harness's world: each transition reports its
// begin and end (the machine as key, {to: state}); the simulated crashes and the 5 s
// sleeps are the example's own.
import * as restate from "@restatedev/restate-sdk";
import { world } from "../../world";

export enum Status {
  UP = "UP",
  DOWN = "DOWN",
}

async function transition(ctx: restate.Context, machineId: string, to: Status) {
  const inv = ctx.request().id;
  await ctx.run("begin", () => world("begin", { key: machineId, idem: `begin-${inv}`, to }));
  maybeCrash(0.4);
  await ctx.sleep({ seconds: 5 });
  await ctx.run("end", () => world("end", { key: machineId, idem: `end-${inv}`, to }));
}

export async function bringUpMachine(ctx: restate.Context, machineId: string) {
  await transition(ctx, machineId, Status.UP);
}

export async function tearDownMachine(ctx: restate.Context, machineId: string) {
  await transition(ctx, machineId, Status.DOWN);
}

const killProcess: boolean = Boolean(process.env.CRASH_PROCESS);

export function maybeCrash(probability: number = 0.5): void {
  if (Math.random() < probability) {
    console.error("A failure happened!");

    if (killProcess) {
      console.error("--- CRASHING THE PROCESS ---");
      process.exit(1);
    } else {
      throw new Error("A failure happened!");
    }
  }
}
