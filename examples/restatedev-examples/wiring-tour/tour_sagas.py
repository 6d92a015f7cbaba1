"""The tour's sagas chapter served alone (its __main__.py serves every chapter at once)."""

import restate

from app.sagas.service import subscription_saga

app = restate.app([subscription_saga])
