"""The example's flight client wired to the harness's world (a reservation per customer,
which the scenario names "<booking>:flight"); a declined reservation is a terminal error."""

from pydantic import BaseModel

from sagas.clients._world import world


class FlightRequest(BaseModel):
    flight_id: str
    passenger_name: str


async def book(customer_id: str, **request) -> None:
    world("reserve", f"{customer_id}:flight")


async def cancel(customer_id: str) -> None:
    world("cancel", f"{customer_id}:flight")
