"""The world as a provider's own HTTP API (issue 29): routes map a service's unchanged calls
(a path, an Idempotency-Key header, a JSON or form body) onto the world's operations."""

import aiohttp
import pytest

from harness.checkers.causes import unrouted, world_unused
from harness.world.app import OPS
from harness.world.routes import RouteError, extract, match, parse, render

STRIPE = [
    {
        "method": "POST",
        "path": "/v1/charges",
        "op": "charge",
        "fields": {"key": "body.metadata.order_id", "amount": "body.amount"},
        "answer": {"id": "ch_{id}", "object": "charge", "status": "succeeded"},
        "declined": {"error": {"type": "card_error", "code": "card_declined"}},
        "unavailable": {"error": {"type": "api_error"}},
    },
    {
        "method": "POST",
        "path": "/v1/refunds/{charge}",
        "op": "refund",
        "fields": {"key": "path.charge", "amount": "body.amount"},
    },
    {"method": "POST", "path": "/mail", "op": "email", "fields": {"key": "body.to"}},
]


def test_routes_match_extract_and_render():
    routes = parse(STRIPE, OPS)
    route, params = match(routes, "post", "/v1/refunds/o7")
    assert route.op == "refund" and params == {"charge": "o7"}
    headers = {"idempotency-key": "k1"}
    fields = extract(route, params, headers, {}, {"amount": "30"})
    assert fields == {"idem": "k1", "key": "o7", "amount": 30}
    route, _ = match(routes, "POST", "/v1/charges")
    fields = extract(route, {}, {}, {}, {"metadata": {"order_id": "o1"}, "amount": 5})
    assert fields == {"key": "o1", "amount": 5}  # no Idempotency-Key: none, as sent
    assert render(route.answer, {"id": "charge_3"}) == {
        "id": "ch_charge_3", "object": "charge", "status": "succeeded",
    }  # fmt: skip


def test_a_route_the_world_cannot_use_says_what_is_wrong():
    with pytest.raises(RouteError, match="op must be one of charge"):
        parse([{"path": "/x", "op": "pay"}], OPS)
    with pytest.raises(RouteError, match="a place starts with one of body, path"):
        parse([{"path": "/x", "op": "charge", "fields": {"key": "cookie.id"}}], OPS)
    with pytest.raises(RouteError, match=r"no route for GET /v1/charges \(routes: POST"):
        match(parse(STRIPE, OPS), "GET", "/v1/charges")


async def test_a_service_calls_the_world_as_its_provider(world):
    w, proc = world
    await w.routes(STRIPE)
    url = proc.uri
    async with aiohttp.ClientSession() as s:

        async def charge(order, key=None, **kw):
            headers = {"Idempotency-Key": key} if key else {}
            body = {"metadata": {"order_id": order}, "amount": 10}
            async with s.post(f"{url}/v1/charges", json=body, headers=headers, **kw) as r:
                return r.status, await r.json()

        first = await charge("o1", "k1")
        again = await charge("o1", "k1")  # the same key: the same charge, as a provider does
        assert first == again and first[0] == 200 and first[1]["id"].startswith("ch_charge_")
        await charge("o2")  # no key: each call is a charge of its own
        await charge("o2")
        async with s.post(f"{url}/v1/refunds/o1", data={"amount": "10"},
                          headers={"Idempotency-Key": "r1"}) as r:  # fmt: skip
            assert r.status == 200  # a form body, a path id
        await w.set_knob("charge", key="o3", decline=True)
        status, answer = await charge("o3", "k3")
        assert status == 402 and answer == STRIPE[0]["declined"]  # the API's own decline
        await w.set_knob("charge", key="o4", fail_attempts=1)
        status, answer = await charge("o4", "k4")
        assert status == 503 and answer == STRIPE[0]["unavailable"]  # and its own outage
        async with s.get(f"{url}/v1/charges") as r:
            assert r.status == 404 and "no route for GET /v1/charges" in (await r.json())["error"]
        async with s.post(f"{url}/routes", json={"routes": [{"path": "/x", "op": "pay"}]}) as r:
            assert r.status == 400 and "op must be one of" in (await r.json())["error"]
    ledger = await w.ledger()
    effects = [(e["op"], e["key"]) for e in ledger["effects"]]
    assert effects == [("charge", "o1"), ("charge", "o2"), ("charge", "o2"), ("refund", "o1")]
    assert [c["outcome"] for c in ledger["calls"] if c["key"] == "o4"] == ["failed"]
    assert [c["outcome"] for c in ledger["calls"] if c["key"] == "o1"] == [
        "applied", "duplicate", "applied",
    ]  # fmt: skip
    # the request no route maps is kept, and named first in any verdict that did not hold;
    # calls that reached no operation are not a use of the world
    cause = unrouted(ledger)
    assert cause.startswith("the world answered 404 to 1 request(s) that no declared route")
    assert "(GET /v1/charges x1)" in cause
    assert world_unused({"effects": [], "calls": [c for c in ledger["calls"]
                                                      if c["op"] == "unrouted"]})  # fmt: skip
