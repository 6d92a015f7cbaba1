"""The pinned versions of the parts under test, in one place."""

from importlib import metadata

RESTATE_SERVER_VERSION = "1.7.12"
RESTATE_SERVER_NPM_PACKAGE = "@restatedev/restate-server"


def sdk_version() -> str:
    return metadata.version("restate-sdk")


def harness_version() -> str:
    try:
        return metadata.version("restate-chaos")
    except metadata.PackageNotFoundError:  # run from a source tree that was not installed
        return "unknown"
