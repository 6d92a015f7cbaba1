"""BROKEN sync-to-async: `resultAsEmail` sends the email straight from the handler, outside
`ctx.run`, with a fresh key: a replay after a kill emails the user again.

Same API as services/data_upload.py.
"""

import uuid

import restate

from harness.world.client import world

from ..data_upload import run

upload = restate.Workflow("DataUploadService")
upload.main()(run)


@upload.handler("resultAsEmail")
async def result_as_email(ctx: restate.WorkflowSharedContext, req: dict) -> str:
    uid = ctx.key()
    url = await ctx.promise("url").value()
    await world().call("email", key=f"{uid}:url", idem=str(uuid.uuid4()), resource=url)  # the bug
    return f"emailed {url}"


app = restate.app(services=[upload])
