"""The tour's communication chapter served alone (its __main__.py serves every chapter at
once): the ticketing service and the payment and email services it calls."""

import restate

from app.communication.service import concert_ticketing_service
from app.utils import email_service, payment_service

app = restate.app([concert_ticketing_service, payment_service, email_service])
