"""The world's durable ledger (SQLite, WAL, synchronous=FULL): the ground truth of a run.

`calls` keeps every raw call (which attempt it was, what happened); `effects` keeps the
effective effects, at most one per (operation, idempotency key), as a real gateway would.
"3 charge attempts for payment p17, 1 effective charge" is read off these two tables.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    wall REAL NOT NULL,
    op TEXT NOT NULL,          -- charge, refund, withdraw, deposit, reserve, confirm, cancel, email
    key TEXT,                  -- business key: payment id, account, reservation id, ...
    idem TEXT,                 -- the idempotency key the caller passed
    attempt INTEGER NOT NULL,  -- nth call with this (op, idem), or with this (op, key) without idem
    request TEXT NOT NULL,
    outcome TEXT NOT NULL,     -- applied | duplicate | declined | failed (injected 5xx)
    effect INTEGER,            -- effects.id this call applied or repeated
    peer INTEGER               -- the caller's TCP port: which process made the call
);
CREATE TABLE IF NOT EXISTS effects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    wall REAL NOT NULL,
    op TEXT NOT NULL,
    key TEXT,
    idem TEXT,
    amount INTEGER,
    resource TEXT,
    response TEXT NOT NULL,
    done REAL NOT NULL         -- when the work is done: wall + the duration the call asked for
);
CREATE UNIQUE INDEX IF NOT EXISTS effects_idem ON effects(op, idem) WHERE idem IS NOT NULL;
CREATE TABLE IF NOT EXISTS webhooks (   -- when to call back after an effect on a key
    key TEXT PRIMARY KEY,                -- '*': every key without its own plan
    delays TEXT NOT NULL                 -- JSON list of seconds after the effect, [] = never
);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS balances (account TEXT PRIMARY KEY, balance INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS knobs (
    op TEXT NOT NULL, key TEXT NOT NULL DEFAULT '*',
    latency_ms INTEGER NOT NULL DEFAULT 0,   -- held AFTER the effect is recorded
    error_rate REAL NOT NULL DEFAULT 0,      -- transient 503, nothing applied
    decline INTEGER NOT NULL DEFAULT 0,      -- terminal 402 decline, nothing applied
    fail_attempts INTEGER NOT NULL DEFAULT 0, -- the first N attempts of a call get a 503
    PRIMARY KEY (op, key)
);
"""

MONEY = {"charge": -1, "refund": +1, "withdraw": -1, "deposit": +1}  # sign on the account


class Ledger:
    def __init__(self, path: Path):
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute(sql, args)]

    def knob(self, op: str, key: str | None) -> dict[str, Any]:
        rows = self.rows(
            "SELECT * FROM knobs WHERE op = ? AND key IN (?, '*') ORDER BY key = '*' LIMIT 1",
            op,
            key or "*",
        )
        if rows:
            return rows[0]
        return {"latency_ms": 0, "error_rate": 0.0, "decline": 0, "fail_attempts": 0}

    def set_knob(
        self,
        op: str,
        key: str = "*",
        latency_ms: int = 0,
        error_rate: float = 0.0,
        decline: bool = False,
        fail_attempts: int = 0,
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO knobs VALUES (?, ?, ?, ?, ?, ?)",
            (op, key, latency_ms, error_rate, int(decline), fail_attempts),
        )

    def plan_webhooks(self, plans: dict[str, list[float]]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO webhooks VALUES (?, ?)",
            [(key, json.dumps(delays)) for key, delays in plans.items()],
        )

    def webhook_delays(self, key: str | None) -> list[float]:
        """The plan for `key` (else for '*'); without any plan: one delivery at once."""
        rows = self.rows(
            "SELECT delays FROM webhooks WHERE key IN (?, '*') ORDER BY key = '*' LIMIT 1",
            key or "*",
        )
        return json.loads(rows[0]["delays"]) if rows else [0.0]

    def set_setting(self, name: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (name, value))

    def setting(self, name: str) -> str | None:
        rows = self.rows("SELECT value FROM settings WHERE name = ?", name)
        return rows[0]["value"] if rows else None

    def open_account(self, account: str, balance: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO balances VALUES (?, ?)", (account, balance))

    def next_attempt(self, op: str, key: str | None, idem: str | None) -> int:
        """Which attempt a call with this idempotency key (or business key) would be."""
        col, val = ("idem", idem) if idem is not None else ("key", key)
        (n,) = self.db.execute(
            f"SELECT count(*) FROM calls WHERE op = ? AND {col} IS ?", (op, val)
        ).fetchone()
        return n + 1

    def record(
        self,
        op: str,
        request: dict[str, Any],
        outcome: str,
        effect: dict[str, Any] | None = None,
        duration_s: float = 0.0,
        peer: int | None = None,
    ) -> dict[str, Any]:
        """Append a raw call; with `effect` (a new effective effect, done `duration_s`
        after now) apply it atomically. Returns the call row as an event."""
        key, idem = request.get("key"), request.get("idem")
        now = time.time()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            effect_id = None
            if outcome == "duplicate":
                (effect_id,) = self.db.execute(
                    "SELECT id FROM effects WHERE op = ? AND idem = ?", (op, idem)
                ).fetchone()
            elif effect is not None:
                cur = self.db.execute(
                    "INSERT INTO effects (wall, op, key, idem, amount, resource, response, done) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        now,
                        op,
                        key,
                        idem,
                        request.get("amount"),
                        request.get("resource"),
                        json.dumps(effect),
                        now + duration_s,
                    ),
                )
                effect_id = cur.lastrowid
                if op in MONEY and request.get("account"):
                    self.db.execute(
                        "INSERT INTO balances VALUES (?, 0) ON CONFLICT(account) DO NOTHING",
                        (request["account"],),
                    )
                    self.db.execute(
                        "UPDATE balances SET balance = balance + ? WHERE account = ?",
                        (MONEY[op] * int(request.get("amount") or 0), request["account"]),
                    )
            attempt = self.next_attempt(op, key, idem)
            cur = self.db.execute(
                "INSERT INTO calls (wall, op, key, idem, attempt, request, outcome, effect, peer)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (now, op, key, idem, attempt, json.dumps(request), outcome, effect_id, peer),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return {
            "seq": cur.lastrowid,
            "wall": now,
            "op": op,
            "key": key,
            "idem": idem,
            "attempt": attempt,
            "outcome": outcome,
            "effect": effect_id,
            "peer": peer,
        }

    def existing(self, op: str, idem: str | None) -> tuple[dict[str, Any], float] | None:
        """The effect already applied for (op, idem), and when its work is done."""
        if idem is None:
            return None
        rows = self.rows("SELECT response, done FROM effects WHERE op = ? AND idem = ?", op, idem)
        return (json.loads(rows[0]["response"]), rows[0]["done"]) if rows else None

    def next_effect_id(self) -> int:
        (n,) = self.db.execute("SELECT coalesce(max(id), 0) + 1 FROM effects").fetchone()
        return n

    def events_after(self, seq: int, limit: int = 1000) -> list[dict[str, Any]]:
        return self.rows(
            "SELECT seq, wall, op, key, idem, attempt, outcome, effect, peer FROM calls "
            "WHERE seq > ? ORDER BY seq LIMIT ?",
            seq,
            limit,
        )

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        return {
            t: self.rows(f"SELECT * FROM {t}")
            for t in ("calls", "effects", "balances", "knobs", "webhooks")
        }
