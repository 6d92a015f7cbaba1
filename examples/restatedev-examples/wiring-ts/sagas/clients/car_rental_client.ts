// The example's car client wired to the harness's world: a reservation per customer,
// which the scenario names "<booking>:car"; a decline is a terminal error (world.ts).
import { world } from "../../world";

export const carRentalClient = {
  book: async (customerId: string, _req: { pickupLocation: string; rentalDate: string }) => {
    await world("reserve", { key: `${customerId}:car` });
  },
  cancel: async (customerId: string) => {
    await world("cancel", { key: `${customerId}:car` });
  },
};
