"""Sync to async: a client waits a bounded time for an upload workflow's result, then asks
for it by email; the service and the server are killed while uploads and emails run.

Services: DataUploadService workflow (services/data_upload.py); the world stores uploads
          (taking their ETA) and sends emails.
Workload: 100 uploads arriving at 25/s (64 clients): submit the workflow (`/run/send`), attach to it
          for at most 0.8 s, else call `resultAsEmail`. ETAs: 55% 0.1-0.5 s, 45% 1.2-2 s.
Faults:   kill -9 of the service right after a result email is sent (x2, its answer held
          back); kill -9 of the server twice. Every kill restarts the uploads under way. An
          upgrade to version 2 (services/data_upload_v2.py, one more journaled step) at a
          seeded point, with workflows under way on version 1 (UPGRADE "drain": version 1
          stopped once nothing is pinned to it; "in_place", the control: replaced on its
          endpoint at once).
Checks:   each result reached the user once: the synchronous answer or one email, never
          both, never lost, the right URL; no email before its upload was done (the
          world's clock); each upload ran once; every invocation
          completed; the faults landed while requests were in flight.
"""

from dataclasses import dataclass
from typing import Any

import harness
from harness import (
    Contract,
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_exactly_once,
    check_one_path,
    check_preconditions,
    check_vacuity,
    scaled,
    seeded_kills,
    seeded_upgrade,
)


@dataclass(frozen=True)
class Params(harness.Params):
    UPLOADS: int = scaled(100)
    FAST: float = 0.55
    WAIT_S: float = 0.8
    UPGRADE: str = "drain"  # how version 2 is deployed: "drain" (the safe way) or "in_place"
    V2: str = "harness.bundled.services.data_upload_v2:app"


class UploadContract(Contract):
    """What the scenario asks of the upload workflow, in the bundled DataUploadService API
    (a workflow keyed by upload id): run({"eta_ms"}) -> url, sent one-way; attach (the
    ingress' GET /restate/workflow/.../attach) answers the url; resultAsEmail({"email"})
    emails it. For another API, subclass and override (`--adapter
    upload=mypkg.chaos:MyUpload`). The service must do the upload as a world call with the
    upload id as `key`, and send the result email with key "<upload id>:url" and the result
    as its `resource`."""

    def submit(self, upload: str, eta_ms: int) -> Request:
        """Start the upload (taking about `eta_ms`), without waiting for it."""
        body = {"eta_ms": eta_ms}
        wf = "DataUploadService"
        return Request(wf, "run", key=upload, body=body, send=True, idempotent=True)

    def attach(self, upload: str, wait_s: float) -> Request:
        """Wait for the upload's result, at most `wait_s` (then the client asks by email)."""
        return Request("DataUploadService", "attach", key=upload, method="GET", wait_s=wait_s)

    def by_email(self, upload: str, email: str, idem: str) -> Request:
        """Ask for the result by email."""
        body = {"email": email}
        return Request("DataUploadService", "resultAsEmail", key=upload, body=body, idem=idem)

    def result(self, answer: Any) -> str:
        """The result an attach answer carries."""
        return str(answer)

    def expected(self, upload: str) -> str:
        """Modelling choice: the result of `upload`, which both paths must deliver."""
        return f"https://bucket.example/{upload}"

    def upload_key(self, email_key: str) -> str:
        """The upload a result email (world key "<upload id>:url") reports."""
        return email_key.rsplit(":", 1)[0]

    def check_answer(self, action: str, answer: Any) -> None:
        if action == "attach":
            self.result(answer)


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "upload": "harness.bundled.services.data_upload:app",
}
# how the scenario talks to each service (--adapter NAME=module:Class overrides)
CONTRACTS = {"upload": UploadContract}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "upload",
        "harness.bundled.services.broken.data_upload_email_outside_run:app",
        ("one_path",),
        "result email outside ctx.run with a fresh key",
    ),
    Control(
        "upload",
        "harness.bundled.services.broken.data_upload_url_early:app",
        ("preconditions:email",),
        "url promise resolved before the upload: the email comes before the data",
    ),
    Control(
        "upload",
        "harness.bundled.services.data_upload:app",
        ("upgrades", "determinism"),
        "version 2 deployed in place (v1 killed, its endpoint re-registered with force) while "
        "workflows run on v1: they replay on code with one more step",
        params=(("UPGRADE", "in_place"),),
    ),
]


def upload(api: UploadContract, uid: str, eta_ms: int, p: Params):
    """One user's client: submit, wait a bounded time for the result, else ask by email."""
    submit = api.submit(uid, eta_ms).as_action("run", uid, eta_ms=eta_ms)
    attach = api.attach(uid, p.WAIT_S).as_action("attach", uid)
    by_email = api.by_email(uid, f"{uid}@example.com", idem=uid).as_action("resultAsEmail", uid)

    async def flow(call):
        submitted = await call(submit)
        if submitted.type != "ok":
            return submitted
        answer = await call(attach)
        return await call(by_email) if answer.timed_out else answer

    flow.subject = uid  # a workload subset (a shrink) keeps or drops a user's flow whole
    return flow


async def test_result_by_exactly_one_path(chaos: Run) -> None:
    p = chaos.params
    api = chaos.contract("upload")
    await chaos.start()  # the world, the server, SERVICES

    rng = chaos.rng
    etas = {
        f"u{i}": rng.randint(100, 500) if rng.random() < p.FAST else rng.randint(1200, 2000)
        for i in range(p.UPLOADS)
    }
    slow = [u for u, eta in etas.items() if eta >= 1200]
    emailed = slow[2 :: len(slow) // 2][:2]
    emails = [f"{u}:url" for u in emailed]
    faults = await chaos.effect_window("upload", "email", emails, downtime=0.5)
    faults += seeded_kills(chaos.fault_rng, p.UPLOADS, ["server", "server"], window=(0.3, 0.9))
    upgrade = {"app": p.V2, "in_place": p.UPGRADE == "in_place"}
    faults += seeded_upgrade(chaos.fault_rng, p.UPLOADS, "upload", upgrade)
    flows = [upload(api, u, eta, p) for u, eta in etas.items()]
    await chaos.drive(flows, faults, concurrency=64, retry_for=20, rate=25)  # a flow takes seconds

    await chaos.verify(checks, timeout=30)


def checks(run: RunData) -> list[Verdict]:
    p = Params.of(run)
    api = run.contract("upload", UploadContract)
    records = run.actions()  # in the scenario's words: run / attach / resultAsEmail of an upload
    return [
        check_one_path(
            records,
            run.ledger,
            "attach",
            "resultAsEmail",
            subject_of=lambda o: o.key or "",
            email_key=lambda u: f"{u}:url",
            expected=api.expected,
            result=api.result,
        ),
        check_exactly_once(
            records,
            run.ledger,
            "upload",
            "run",
            lambda r: True,
            name="each upload ran once",
        ),
        check_preconditions(run.ledger, "email", "upload", needs_key=api.upload_key),
        check_vacuity(records, min_ok=p.UPLOADS, min_faults=2),
    ]
