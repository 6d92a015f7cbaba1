"""The example's car client wired to the harness's world (a reservation per customer,
which the scenario names "<booking>:car"); a declined reservation is a terminal error."""

from pydantic import BaseModel

from sagas.clients._world import world


class CarRentalRequest(BaseModel):
    pickup_location: str
    rental_date: str


async def book(customer_id: str, **request) -> None:
    world("reserve", f"{customer_id}:car")


async def cancel(customer_id: str) -> None:
    world("cancel", f"{customer_id}:car")
