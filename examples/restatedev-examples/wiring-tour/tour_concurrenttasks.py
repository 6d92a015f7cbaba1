"""The tour's concurrenttasks chapter served alone (its __main__.py serves every chapter at
once)."""

import restate

from app.concurrenttasks.service import parallel_subscription_service

app = restate.app([parallel_subscription_service])
