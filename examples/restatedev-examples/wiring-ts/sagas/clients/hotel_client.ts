// The example's hotel client wired to the harness's world: a reservation per customer,
// which the scenario names "<booking>:hotel"; a decline is a terminal error (world.ts).
import { world } from "../../world";

export const hotelClient = {
  book: async (customerId: string, _req: { arrivalDate: string; departureDate: string }) => {
    await world("reserve", { key: `${customerId}:hotel` });
  },
  cancel: async (customerId: string) => {
    await world("cancel", { key: `${customerId}:hotel` });
  },
};
