"""BROKEN sync-to-async: `run` resolves the "url" promise before it uploads, so the result
email (and a waiting client's answer) carries the right link to data that is not there yet.
Every value is right; only the world's clock shows the email came before the upload was done.

Same API as services/data_upload.py.
"""

import restate

from harness.world.client import world_action

from ..data_upload import result_as_email

upload = restate.Workflow("DataUploadService")


@upload.main()
async def run(ctx: restate.WorkflowContext, req: dict) -> str:
    uid = ctx.key()
    url = f"https://bucket.example/{uid}"
    await ctx.promise("url").resolve(url)  # the bug: the link goes out before the data
    await ctx.run_typed(
        "upload", world_action("upload", key=uid, idem=f"upload-{uid}", latency_ms=req["eta_ms"])
    )
    return url


upload.handler("resultAsEmail")(result_as_email)

app = restate.app(services=[upload])
