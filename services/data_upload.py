"""Sync to async (seed 000, data upload).

`DataUploadService` is a Workflow: `run` creates a bucket and uploads the data (each step in
`ctx.run`, the upload taking its ETA), then resolves the durable promise "url" and returns
the URL. A client calls `run` and waits for a bounded time; when the upload takes longer, it
calls the shared handler `resultAsEmail`, which waits on the same promise and emails the URL.
The workflow runs once per id however often it is called; the promise is in Restate's log.

Guarantee: the URL reaches the user by exactly one path, the synchronous answer or one
email; never lost, never both; the workflow's upload runs once per id.

API: Workflow `DataUploadService` keyed by upload id: run({"eta_ms"}) -> url;
     resultAsEmail({"email"}) -> "emailed <url>".
World: upload key "<id>" (takes eta_ms), email key "<id>:url".
"""

import restate

from harness.world.client import world_action

upload = restate.Workflow("DataUploadService")


@upload.main()
async def run(ctx: restate.WorkflowContext, req: dict) -> str:
    uid = ctx.key()
    url = f"https://bucket.example/{uid}"
    await ctx.run_typed(
        "upload", world_action("upload", key=uid, idem=f"upload-{uid}", latency_ms=req["eta_ms"])
    )
    await ctx.promise("url").resolve(url)
    return url


@upload.handler("resultAsEmail")
async def result_as_email(ctx: restate.WorkflowSharedContext, req: dict) -> str:
    uid = ctx.key()
    url = await ctx.promise("url").value()
    await ctx.run_typed(
        "email", world_action("email", key=f"{uid}:url", idem=f"email-{uid}", resource=url)
    )
    return f"emailed {url}"


app = restate.app(services=[upload])
