"""Sync to async: a client waits a bounded time for an upload workflow's result, then asks
for it by email; the service and the server are killed while uploads and emails run.

Services: DataUploadService workflow (services/data_upload.py); the world stores uploads
          (taking their ETA) and sends emails.
Workload: 100 uploads arriving at 25/s (64 clients): submit the workflow (`/run/send`), attach to it
          for at most 0.8 s, else call `resultAsEmail`. ETAs: 55% 0.1-0.5 s, 45% 1.2-2 s.
Faults:   kill -9 of the service right after a result email is sent (x2, its answer held
          back); kill -9 of the server twice. Every kill restarts the uploads under way.
Checks:   each result reached the user once: the synchronous answer or one email, never
          both, never lost, the right URL; each upload ran once; every invocation
          completed; the faults landed while requests were in flight.
"""

from harness import (
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_exactly_once,
    check_one_path,
    check_vacuity,
    seeded_kills,
)

UPLOADS, FAST, WAIT_S = 100, 0.55, 0.8
SCALED = ("UPLOADS",)  # the workload sizes --scale N multiplies
WORKFLOW = "DataUploadService"


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "upload": "harness.bundled.services.data_upload:app",
}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "upload",
        "harness.bundled.services.broken.data_upload_email_outside_run:app",
        ("one_path",),
        "result email outside ctx.run with a fresh key",
    ),
]


def upload(uid: str, eta_ms: int):
    meta = {"eta_ms": eta_ms}
    submit = Request(
        WORKFLOW, "run", key=uid, body={"eta_ms": eta_ms}, send=True, idempotent=True, meta=meta
    )
    attach = Request(WORKFLOW, "attach", key=uid, method="GET", wait_s=WAIT_S, meta=meta)
    by_email = Request(
        WORKFLOW, "resultAsEmail", key=uid, body={"email": f"{uid}@example.com"}, idem=uid
    )

    async def flow(call):
        submitted = await call(submit)
        if submitted.type != "ok":
            return submitted
        answer = await call(attach)
        return await call(by_email) if answer.timed_out else answer

    return flow


async def test_result_by_exactly_one_path(chaos: Run) -> None:
    await chaos.start_world()
    await chaos.start_server()
    await chaos.start_service("upload")

    rng = chaos.rng
    etas = {
        f"u{i}": rng.randint(100, 500) if rng.random() < FAST else rng.randint(1200, 2000)
        for i in range(UPLOADS)
    }
    slow = [u for u, eta in etas.items() if eta >= 1200]
    emailed = slow[2 :: len(slow) // 2][:2]
    emails = [f"{u}:url" for u in emailed]
    faults = await chaos.effect_window("upload", "email", emails, downtime=0.5)
    faults += seeded_kills(chaos.fault_rng, UPLOADS, ["server", "server"], window=(0.3, 0.9))
    flows = [upload(u, eta) for u, eta in etas.items()]
    await chaos.drive(flows, faults, concurrency=64, retry_for=20, rate=25)  # a flow takes seconds

    await chaos.verify(checks, timeout=30)


def checks(run: RunData) -> list[Verdict]:
    return [
        check_one_path(
            run.records,
            run.ledger,
            "attach",
            "resultAsEmail",
            subject_of=lambda o: o.key or "",
            email_key=lambda u: f"{u}:url",
            expected=lambda u: f"https://bucket.example/{u}",
        ),
        check_exactly_once(
            run.records,
            run.ledger,
            "upload",
            "run",
            lambda r: True,
            name="each upload ran once",
            key_of=lambda o: o.key or "",
        ),
        check_vacuity(run.records, min_ok=UPLOADS, min_faults=2),
    ]
