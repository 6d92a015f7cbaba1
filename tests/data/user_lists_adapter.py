"""The object_state scenario's contract mapped onto tests/data/user_lists.py's API."""

from typing import Any

from harness.bundled.scenarios.scenario_object_state import SubscriptionListContract

from harness import Request


class WatchlistsAdapter(SubscriptionListContract):
    def add(self, user: str, subscription: str, idem: str) -> Request:
        body = {"topic": {"name": subscription}}
        return Request("Watchlists", "follow", key=user, body=body, idem=idem)

    def read(self, user: str) -> Request:
        return Request("Watchlists", "show", key=user)

    def members(self, answer: Any) -> list[str]:
        return answer["topics"]
