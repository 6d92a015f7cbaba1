"""Restate admin API: deployments, SQL introspection, invocation control, quiescence."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import datetime
from typing import Any

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

from harness.errors import HarnessError, NotQuiescent
from harness.http import HttpClient

NOT_DONE = "status != 'completed'"
UNFINISHED_READ = 1000  # rows the sampler reads at most (its in-flight count caps there)
POLL = 0.1  # seconds between polls while waiting for quiescence
# the quiesce bound is no verdict on a slow machine: past it the wait goes on while the
# invocations still make progress (one completes, or a journal grows) at least this often,
# up to QUIESCE_CAP times the bound
PROGRESS_WITHIN = 5.0
QUIESCE_CAP = 10
# an invocation that failed with a journal mismatch is retried for ever and never gets
# past it (the replayed code takes another path): waiting longer shows nothing new
WEDGED_FOR = 3.0
MISMATCH_CODES = ("RT0016", 570)


def wall(value: Any) -> float | None:
    """A timestamp of Restate's SQL (RFC 3339, or milliseconds) as wall seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return value / 1000
    return datetime.fromisoformat(str(value)).timestamp()


def failed_an_attempt(row: dict[str, Any]) -> bool:
    """Restate counts the attempt in progress in `retry_count` (1 while the first runs):
    an attempt failed when a failure is recorded, or a second attempt was made."""
    return bool(row.get("last_failure")) or (row.get("retry_count") or 0) > 1


def in_first_attempt(row: dict[str, Any]) -> bool:
    """Running its first attempt, nothing failed: work under way, however long its step
    takes (the quiesce's cap bounds the wait)."""
    return row.get("status") == "running" and not failed_an_attempt(row)


def journal_mismatch(row: dict[str, Any]) -> bool:
    """A sys_invocation row whose last attempt failed with a journal mismatch (570)."""
    code = row.get("last_failure_error_code")
    return code in MISMATCH_CODES or "[570 " in (row.get("last_failure") or "")


def wedged(row: dict[str, Any], rows: list[dict[str, Any]]) -> bool:
    """`row` cannot complete: it failed with a journal mismatch, or it waits on a key whose
    invocation did (`rows`: the non-completed ones): in the inbox of an object key, or a
    workflow's shared handler awaiting the result of a `run` that cannot finish."""
    if journal_mismatch(row):
        return True

    def key(r: dict[str, Any]) -> tuple[Any, Any]:
        return r.get("target_service_name"), r.get("target_service_key")

    return (
        row.get("status") in ("pending", "running", "suspended")
        and key(row)[1] is not None
        and any(journal_mismatch(r) and key(r) == key(row) for r in rows)
    )


class AdminError(HarnessError):
    pass


def _sql_list(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


class AdminClient(HttpClient):
    def __init__(self, base_url: str, timeout: float = 10.0, since_ms: int | None = None):
        super().__init__(base_url, timeout)
        # a server the run does not own (harness/runtime/external.py): only the invocations
        # created since the run connected are its own; None: every invocation is the run's
        self.since_ms = since_ms

    def ours(self, services: list[str], table: str = "") -> str:
        """The SQL condition for the run's invocations of `services` (`table`: "i." where
        sys_invocation is joined as i)."""
        cond = f"{table}target_service_name IN ({_sql_list(services)})"
        if self.since_ms is not None:
            cond += f" AND {table}created_at >= to_timestamp_millis({self.since_ms})"
        return cond

    async def version(self) -> dict[str, Any]:
        """The server's version (GET /version)."""
        return await self._request("GET", "/version") or {}

    async def remove_deployment(self, deployment: str) -> None:
        await self._request("DELETE", f"/deployments/{deployment}?force=true")

    async def leftovers(self, services: list[str]) -> str | None:
        """What the server holds of `services` at all (invocations, keys with state), in
        words; None when nothing."""
        names = _sql_list(services)
        calls = await self.query(
            f"SELECT count(*) AS n FROM sys_invocation WHERE target_service_name IN ({names})"
        )
        keys = await self.query(
            f"SELECT count(DISTINCT service_key) AS n FROM state WHERE service_name IN ({names})"
        )
        n, k = calls[0].get("n", 0), keys[0].get("n", 0)
        if not n and not k:
            return None
        return f"{n} invocation(s) and the state of {k} key(s)"

    async def clean_up(self, services: list[str]) -> None:
        """Kill the unfinished invocations of `services` (of this run: `ours`), purge them
        all, and clear the state of every key of theirs."""
        rows = await self.query(
            f"SELECT id, status FROM sys_invocation WHERE {self.ours(services)}"
        )
        for r in rows:
            if r["status"] != "completed":
                with contextlib.suppress(AdminError):
                    await self.kill(r["id"])
        # a kill completes an invocation a moment later: purge once it has (bounded)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and await self.query(
            f"SELECT id FROM sys_invocation WHERE {self.ours(services)} AND {NOT_DONE}"
        ):
            await asyncio.sleep(0.1)
        for r in rows:
            with contextlib.suppress(AdminError):
                await self._request("PATCH", f"/invocations/{r['id']}/purge")
        keys = await self.query(
            "SELECT DISTINCT service_name, service_key FROM state"
            f" WHERE service_name IN ({_sql_list(services)})"
        )
        for k in keys:
            body = {"object_key": k["service_key"], "new_state": {}}
            await self._request("POST", f"/services/{k['service_name']}/state", json=body)

    async def _request(self, method: str, path: str, **kw: Any) -> Any:
        async with self.session.request(method, self.base_url + path, **kw) as resp:
            body = await resp.text()
            if resp.status >= 400:
                raise AdminError(f"{method} {path} -> HTTP {resp.status}: {body[:1000]}")
            return await resp.json(content_type=None) if body else None

    async def health(self) -> bool:
        try:
            await self._request("GET", "/health")
        except (TimeoutError, aiohttp.ClientError, AdminError):
            return False
        return True

    async def query_once(self, sql: str) -> list[dict[str, Any]]:
        data = await self._request(
            "POST", "/query", json={"query": sql}, headers={"accept": "application/json"}
        )
        return data["rows"]

    async def query(self, sql: str, within: float = 15.0) -> list[dict[str, Any]]:
        """SQL with bounded retries: right after a (re)start the partition stores may not
        be open yet ('expecting a partition store') for a short while."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((AdminError, aiohttp.ClientError, asyncio.TimeoutError)),
            stop=stop_after_delay(within),
            wait=wait_fixed(0.05),
            reraise=True,
        ):
            with attempt:
                return await self.query_once(sql)
        raise AssertionError("unreachable")

    async def register(
        self, uri: str, use_http_11: bool = False, dry_run: bool = False
    ) -> dict[str, Any]:
        """Register the deployment at `uri` (force); with `dry_run`, Restate discovers it
        and checks it against what is registered, registering nothing."""
        body: dict[str, Any] = {"uri": uri, "force": True}
        if use_http_11:
            body["use_http_11"] = True
        if dry_run:
            body["dry_run"] = True
        return await self._request("POST", "/deployments", json=body)

    async def add_kafka_cluster(self, name: str, bootstrap: str) -> None:
        properties = {"bootstrap.servers": bootstrap}
        await self._request(
            "POST", "/kafka-clusters", json={"name": name, "properties": properties}
        )

    async def subscribe(self, source: str, sink: str, options: dict[str, str]) -> dict[str, Any]:
        """A Kafka subscription: records of `source` (kafka://cluster/topic) invoke `sink`
        (service://Service/handler), the record key as the object key."""
        body = {"source": source, "sink": sink, "options": options}
        return await self._request("POST", "/subscriptions", json=body)

    async def invocations(self, services: list[str], where: str = "TRUE") -> list[dict[str, Any]]:
        return await self.query(
            "SELECT id, target, target_service_name, target_service_key, status, retry_count,"
            " last_failure, last_failure_error_code, idempotency_key, created_at, completed_at,"
            " journal_size, pinned_deployment_id, last_failure_related_command_index,"
            " last_failure_related_command_name, last_failure_related_command_type"
            " FROM sys_invocation"
            f" WHERE {self.ours(services)} AND ({where})"
        )

    async def services(self) -> list[dict[str, Any]]:
        """The services this node's admin knows (GET /services)."""
        return (await self._request("GET", "/services"))["services"]

    async def pinned(self, deployment: str) -> int:
        """Invocations pinned to `deployment` that have not completed."""
        rows = await self.query(
            "SELECT count(*) AS n FROM sys_invocation WHERE pinned_deployment_id = "
            f"{_sql_list([deployment])} AND {NOT_DONE}"
        )
        return int(rows[0]["n"])

    async def waiting_until(self, services: list[str]) -> dict[str, float]:
        """The not completed invocations of `services` that wait for a time, and that time
        (wall seconds): a delayed call not started yet (`scheduled_start_at`), or a durable
        sleep in its journal (the latest wake-up time; a sleep raced with another wait
        ends by then at the latest). A time already past says only that it is due."""
        # two reads, and scheduled_at beside scheduled_start_at: 1.7.12 leaves the latter
        # out of a join's rows, and out of any read without the former (measured)
        rows = await self.query(
            "SELECT id, scheduled_at, scheduled_start_at FROM sys_invocation"
            f" WHERE {self.ours(services)} AND status = 'scheduled'"
        )
        rows += await self.query(
            "SELECT j.id, j.sleep_wakeup_at, j.entry_lite_json FROM sys_journal j"
            " JOIN sys_invocation i ON j.id = i.id"
            f" WHERE {self.ours(services, 'i.')} AND i.{NOT_DONE}"
            " AND j.entry_type IN ('Command: Sleep', 'Sleep')"
        )
        until: dict[str, float] = {}
        for r in rows:
            times = [wall(r.get("scheduled_start_at")), wall(r.get("sleep_wakeup_at"))]
            lite = json.loads(r.get("entry_lite_json") or "{}")  # protocol 4+: the command
            wake_ms = lite.get("Command", {}).get("Sleep", {}).get("wake_up_time")
            times.append(wake_ms / 1000 if wake_ms else None)
            for t in times:
                if t is not None:
                    until[r["id"]] = max(t, until.get(r["id"], t))
        return until

    async def journal(self, services: list[str], where: str = "TRUE") -> list[dict[str, Any]]:
        """Journal entries of the services' invocations (kept after completion for the
        server's journal retention), for the evidence behind a counterexample; `where`
        filters the invocations (columns of sys_invocation as i.*)."""
        return await self.query(
            "SELECT j.id, j.index, j.entry_type, j.name, j.appended_at FROM sys_journal j"
            " JOIN sys_invocation i ON j.id = i.id"
            f" WHERE {self.ours(services, 'i.')} AND ({where})"
            " ORDER BY j.id, j.index"
        )

    async def count_invocations(self, handlers: list[str]) -> int:
        """Invocations of any status of `handlers` ("Service/handler")."""
        targets = " OR ".join(
            f"(target_service_name = '{s}' AND target_handler_name = '{h}')"
            for s, h in (x.split("/") for x in handlers)
        )
        if self.since_ms is not None:
            targets = f"({targets}) AND created_at >= to_timestamp_millis({self.since_ms})"
        rows = await self.query(f"SELECT count(*) AS n FROM sys_invocation WHERE {targets}")
        return rows[0].get("n", 0) if rows else 0

    async def unfinished(self, services: list[str]) -> list[dict[str, Any]]:
        """The run's invocations of `services` not completed (at most UNFINISHED_READ: a
        soak's thousands of scheduled timers are not read every 0.2 s): id, target, status
        and journal size (where each stands), read once (the nemesis's sampler)."""
        return await self.query(
            "SELECT id, target_service_name || '/' || target_handler_name AS target, status,"
            f" journal_size FROM sys_invocation WHERE {self.ours(services)} AND {NOT_DONE}"
            f" LIMIT {UNFINISHED_READ}",
            within=0,
        )

    async def _progress(
        self, services: list[str], within: float = 15.0
    ) -> tuple[dict[str, int], int]:
        """Invocations of `services` by status, and the journal entries of those not
        completed (they grow while a long invocation makes progress)."""
        rows = await self.query(
            "SELECT status, count(*) AS n, sum(journal_size) AS entries FROM sys_invocation"
            f" WHERE {self.ours(services)} GROUP BY status",
            within,
        )
        entries = sum(r.get("entries") or 0 for r in rows if r["status"] != "completed")
        return {r["status"]: r["n"] for r in rows}, entries

    async def one_way_calls(self, services: list[str]) -> int:
        """One-way calls (sends) journaled by `services`' invocations."""
        rows = await self.query(
            "SELECT count(*) AS n FROM sys_journal j JOIN sys_invocation i ON j.id = i.id"
            f" WHERE {self.ours(services, 'i.')}"
            " AND j.entry_type LIKE '%OneWayCall%'"
        )
        return rows[0].get("n", 0) if rows else 0

    async def wait_quiescent(
        self, services: list[str], timeout: float = 60.0, settle: float = 2.0
    ) -> float:
        """Wait until no invocation of `services` is non-completed and their number has
        not changed for `settle` seconds (at least two polls, POLL apart): a one-way or
        delayed message still in Restate's outbox (after a server restart it can take a
        while) is not an invocation yet, and 1.7.12 has no table that shows it. Returns
        seconds waited. Raises NotQuiescent with the stuck invocations when the bound runs
        out and they made no progress in the last PROGRESS_WITHIN seconds (none completed,
        no journal grew: a slow machine's invocations still finishing are waited for, up to
        QUIESCE_CAP times the bound), or sooner when every one left has been failing with a
        journal mismatch for WEDGED_FOR seconds: replaying the same code cannot get past it.

        An invocation that waits for a time (a sleep, a delayed call) is waited for when
        that time falls within the cap (it will progress then), and not at all when it falls
        after: it is due after the run, which the checkers say (`waiting_until`)."""
        t0 = time.monotonic()
        horizon = time.time() + QUIESCE_CAP * timeout
        seen, since = -1, t0
        wedged_since: float | None = None
        checked = 0.0
        last: tuple[int, int] | None = None  # (completed, journal entries of the others)
        progressed = t0
        later: set[str] = set()  # waiting for a time after the horizon: not waited for
        while True:
            counts, entries = await self._progress(services)
            total = sum(counts.values())
            busy = total - counts.get("completed", 0)
            now = time.monotonic()
            if last is not None and (counts.get("completed", 0), entries) != last:
                progressed = now
            last = (counts.get("completed", 0), entries)
            if busy and now - checked >= 1.0:  # what is left: due later, or mismatches only?
                checked = now
                due = await self.waiting_until(services)
                later = {i for i, t in due.items() if t > horizon}
                if any(time.time() < t <= horizon for t in due.values()):
                    progressed = now  # a timer still to fire within the wait is progress
                stuck = await self._pending(services, later)
                if any(in_first_attempt(r) for r in stuck):
                    progressed = now  # a long step (a ctx.run of 25 s) journals nothing
                if stuck and all(wedged(r, stuck) for r in stuck):
                    wedged_since = wedged_since or now
                else:
                    wedged_since = None
            busy -= len(later) if busy else 0
            if total != seen or busy > 0:
                seen, since = total, now
            elif now - since >= settle:
                return now - t0
            stalled = now - progressed >= PROGRESS_WITHIN or now - t0 > QUIESCE_CAP * timeout
            if (now - t0 > timeout and stalled) or (
                wedged_since and now - wedged_since >= WEDGED_FOR
            ):
                stuck = await self._pending(services, later)
                # the JSON rows leave out NULL columns: use .get
                lines = "\n".join(
                    f"  {r.get('id')} {r.get('target')} {r.get('status')} "
                    f"retries={r.get('retry_count')} "
                    f"last_failure={(r.get('last_failure') or '')[:200]}"
                    for r in stuck[:20]
                )
                why = (
                    f"not completed after {now - t0:.0f}s, none making progress in the last "
                    f"{now - progressed:.0f}s"
                    if now - t0 > timeout
                    else f"failing with a journal mismatch for {WEDGED_FOR:.0f}s"
                )
                raise NotQuiescent(f"{len(stuck)} invocation(s) of {services} {why}:\n{lines}")
            await asyncio.sleep(POLL)

    async def _pending(self, services: list[str], later: set[str]) -> list[dict[str, Any]]:
        """The not completed invocations of `services`, but those in `later` (due after
        the quiesce's cap)."""
        return [r for r in await self.invocations(services, NOT_DONE) if r.get("id") not in later]

    async def cancel(self, invocation_id: str) -> None:
        await self._request("PATCH", f"/invocations/{invocation_id}/cancel")

    async def kill(self, invocation_id: str) -> None:
        await self._request("PATCH", f"/invocations/{invocation_id}/kill")


class MismatchWatch:
    """The invocations failing with a journal mismatch, for the load driver: a request to
    such a key (or with such an idempotency key) waits for ever, so retrying it shows
    nothing new. Read from sys_invocation at most every `every` seconds, one read shared by
    every caller; a read that fails or takes over a second (the server is down) finds none."""

    def __init__(self, admin: AdminClient, services: list[str], every: float = 1.0):
        self.admin = admin
        self.services = services
        self.every = every
        self._rows: list[dict[str, Any]] = []
        self._read_at = -every
        self._lock = asyncio.Lock()

    async def _mismatched(self) -> list[dict[str, Any]]:
        async with self._lock:
            if self.services and time.monotonic() - self._read_at >= self.every:
                self._read_at = time.monotonic()
                try:
                    async with asyncio.timeout(1.0):
                        rows = await self.admin.invocations(self.services, NOT_DONE)
                    self._rows = [r for r in rows if journal_mismatch(r)]
                except (AdminError, aiohttp.ClientError, TimeoutError, OSError):
                    self._rows = []
            return self._rows

    async def why(self, service: str, key: str | None, idem: str | None) -> str | None:
        """Why a request to `service` (object or workflow `key`, or idempotency key `idem`)
        cannot be answered: its key has an invocation failing with a journal mismatch (the
        request's own, or one it is queued behind), or its own invocation does. None if
        neither."""
        for r in await self._mismatched():
            if r.get("target_service_name") != service:
                continue
            if key is not None and r.get("target_service_key") == key:
                return f"{r.get('target')} ({r.get('id')}) fails with a journal mismatch"
            if idem is not None and r.get("idempotency_key") == idem:
                return f"its invocation {r.get('id')} fails with a journal mismatch"
        return None
