"""The tour's getstarted chapter served alone (its __main__.py serves every chapter at once)."""

import restate

from app.getstarted.service import subscription_service

app = restate.app([subscription_service])
