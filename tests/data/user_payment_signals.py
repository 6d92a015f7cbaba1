"""A user's payment service for the payment_signals scenario: here the bundled version 1
under the user's own module name, so that a run shows whose code each version ran."""

from harness.bundled.services.payment_signals import app

__all__ = ["app"]
