"""The harness's world, where the example's three clients now make their reservations: a
declined reservation (402) is a terminal error, any other failure is retried."""

import json
import os
import urllib.error
import urllib.request

from restate.exceptions import TerminalError


def world(op: str, key: str) -> None:
    body = json.dumps({"key": key}).encode()
    url = f"{os.environ['CHAOS_WORLD_URL']}/call/{op}"
    req = urllib.request.Request(url, body, {"content-type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=30).read()
    except urllib.error.HTTPError as e:
        if e.code == 402:
            raise TerminalError(f"{op} of {key} declined") from e
        raise
