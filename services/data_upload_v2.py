"""The upload workflow, version 2: the same workflow with one more journaled step.

`run` first checks the user's quota in the journal (`ctx.run("quota")`), then does what
version 1 does. A correct upgrade lets the workflows that began on version 1 finish there;
an in-place upgrade (the same endpoint re-registered with `force`) replays their journals
against this code, which takes another path.
"""

import restate

from . import data_upload as v1

upload = restate.Workflow("DataUploadService")


@upload.main()
async def run(ctx: restate.WorkflowContext, req: dict) -> str:
    async def quota() -> bool:
        return True

    await ctx.run_typed("quota", quota)  # new in version 2
    return await v1.run(ctx, req)


upload.handler("resultAsEmail")(v1.result_as_email)
app = restate.app(services=[upload])
