"""The tour's objects chapter served alone (its __main__.py serves every chapter at once)."""

import restate

from app.objects.service import user_subscriptions

app = restate.app([user_subscriptions])
