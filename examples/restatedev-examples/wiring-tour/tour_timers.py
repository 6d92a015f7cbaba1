"""The tour's timers chapter served alone (its __main__.py serves every chapter at once)."""

import restate

from app.timers.service import payments_with_timeout

app = restate.app([payments_with_timeout])
