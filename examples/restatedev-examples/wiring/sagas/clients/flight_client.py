"""The example's flight client wired to the harness's world (a reservation per customer,
which the scenario names "<booking>:flight"); a declined reservation is a terminal error."""

import json
import os
import urllib.error
import urllib.request

from pydantic import BaseModel
from restate.exceptions import TerminalError


class FlightRequest(BaseModel):
    flight_id: str
    passenger_name: str


def _world(op: str, key: str) -> None:
    body = json.dumps({"key": key}).encode()
    url = f"{os.environ['CHAOS_WORLD_URL']}/call/{op}"
    req = urllib.request.Request(url, body, {"content-type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=30).read()
    except urllib.error.HTTPError as e:
        if e.code == 402:
            raise TerminalError(f"{op} of {key} declined") from e
        raise


async def book(customer_id: str, **request) -> None:
    _world("reserve", f"{customer_id}:flight")


async def cancel(customer_id: str) -> None:
    _world("cancel", f"{customer_id}:flight")
