"""The world as the outside world speaks it: a service's own HTTP calls (`POST /v1/charges`
with an `Idempotency-Key` header, a form body, a path id) recorded as the world's operations,
so the service under test only points its provider's base URL at the world.

A route maps a method and a path template to an operation, and says where each of the
operation's fields is in the request:

    {"method": "POST", "path": "/v1/charges", "op": "charge",
     "fields": {"key": "body.metadata.order_id", "amount": "body.amount"},
     "answer": {"id": "ch_{id}", "status": "succeeded"},
     "declined": {"error": {"type": "card_error"}},
     "unavailable": {"error": {"type": "api_error"}}}

A field's place is `body.a.b` (JSON or form body), `path.NAME` (a `{NAME}` segment of the
template), `header.NAME`, `query.NAME`, or `=TEXT` (a constant). `idem` defaults to the
`Idempotency-Key` header, the convention of payment and messaging APIs. `answer` (success),
`declined` (the 402) and `unavailable` (the 503 of a transient failure) are the API's own
shapes; a string in them may name the effect's
fields in braces (`{id}`, `{key}`, `{amount}`). A request no route maps is answered 404
and kept in the ledger's calls as op `unrouted` (`{"method", "path"}`), so the run names it.
Pure: no I/O, unit-tested as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

PLACES = ("body", "path", "header", "query")
UNROUTED = "unrouted"  # the ledger's op for a request no route maps


class RouteError(ValueError):
    """A route the world cannot use: what is wrong, and the valid choices."""


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str
    op: str
    fields: dict[str, str] = field(default_factory=dict)
    answer: Any = None
    declined: Any = None
    unavailable: Any = None

    @cached_property  # compiled at the first request it is matched against
    def pattern(self) -> re.Pattern[str]:
        parts = re.split(r"(\{\w+\})", self.path)
        regex = "".join(
            f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts
        )
        return re.compile(f"^{regex}$")


def parse(routes: list[dict[str, Any]], ops: tuple[str, ...]) -> list[HttpRoute]:
    """Routes as the scenario (or its adapter) declares them; RouteError names the first
    thing wrong."""
    out = []
    for r in routes:
        unknown = set(r) - {"method", "path", "op", "fields", "answer", "declined", "unavailable"}
        if unknown:
            raise RouteError(f"route {r}: unknown entries {sorted(unknown)}")
        if r.get("op") not in ops:
            raise RouteError(f"route {r}: op must be one of {', '.join(ops)}")
        if not str(r.get("path", "")).startswith("/"):
            raise RouteError(f"route {r}: path must start with '/'")
        for name, place in (r.get("fields") or {}).items():
            if not place.startswith("=") and place.split(".", 1)[0] not in PLACES:
                raise RouteError(
                    f"route {r}: field {name!r} at {place!r}: a place starts with one of "
                    f"{', '.join(PLACES)}, or is '=constant'"
                )
        out.append(
            HttpRoute(
                str(r.get("method", "POST")).upper(),
                r["path"],
                r["op"],
                dict(r.get("fields") or {}),
                r.get("answer"),
                r.get("declined"),
                r.get("unavailable"),
            )
        )
    return out


def match(routes: list[HttpRoute], method: str, path: str) -> tuple[HttpRoute, dict[str, str]]:
    """The first route for `method` and `path`, with its path parameters; RouteError (the
    routes there are) when none matches."""
    for r in routes:
        if r.method == method.upper():
            m = r.pattern.match(path)
            if m:
                return r, m.groupdict()
    known = ", ".join(f"{r.method} {r.path}" for r in routes) or "none"
    raise RouteError(f"no route for {method.upper()} {path} (routes: {known})")


def extract(
    route: HttpRoute,
    path_params: dict[str, str],
    headers: dict[str, str],
    query: dict[str, str],
    body: Any,
) -> dict[str, Any]:
    """The world call's fields from the request (`headers` with lower-case names)."""
    sources = {"path": path_params, "header": headers, "query": query, "body": body}
    places = {"idem": "header.idempotency-key", **route.fields}
    out: dict[str, Any] = {}
    for name, place in places.items():
        if place.startswith("="):
            out[name] = place[1:]
            continue
        where, _, dotted = place.partition(".")
        value: Any = sources[where]
        for part in dotted.split(".") if dotted else []:
            key = part.lower() if where == "header" else part
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            out[name] = value
    if "amount" in out:
        out["amount"] = int(out["amount"])
    return out


def render(template: Any, effect: dict[str, Any]) -> Any:
    """The API's answer: `template` with the effect's fields filled into its strings."""
    if template is None:
        return effect
    if isinstance(template, str):
        return re.sub(r"\{(\w+)\}", lambda m: str(effect.get(m.group(1), m.group(0))), template)
    if isinstance(template, dict):
        return {k: render(v, effect) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, effect) for v in template]
    return template
