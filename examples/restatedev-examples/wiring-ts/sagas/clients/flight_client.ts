// The example's flight client wired to the harness's world: a reservation per customer,
// which the scenario names "<booking>:flight"; a decline is a terminal error (world.ts).
import { world } from "../../world";

export const flightClient = {
  book: async (customerId: string, _req: { flightId: string; passengerName: string }) => {
    await world("reserve", { key: `${customerId}:flight` });
  },
  cancel: async (customerId: string) => {
    await world("cancel", { key: `${customerId}:flight` });
  },
};
