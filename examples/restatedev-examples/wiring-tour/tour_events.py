"""The tour's events chapter served alone (its __main__.py serves every chapter at once);
the provider's webhook confirms through this chapter's Payments service."""

import restate

from app import utils
from app.events.service import payments

utils.CONFIRMED_BY = "Payments"  # wiring: the world's webhook calls Payments/confirm
app = restate.app([payments])
