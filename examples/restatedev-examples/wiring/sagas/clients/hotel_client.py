"""The example's hotel client wired to the harness's world (a reservation per customer,
which the scenario names "<booking>:hotel"); a declined reservation is a terminal error."""

from pydantic import BaseModel

from sagas.clients._world import world


class HotelRequest(BaseModel):
    arrival_date: str
    departure_date: str


async def book(customer_id: str, **request) -> None:
    world("reserve", f"{customer_id}:hotel")


async def cancel(customer_id: str) -> None:
    world("cancel", f"{customer_id}:hotel")
