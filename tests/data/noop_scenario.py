"""A scenario that starts nothing (named so that no session collects it unasked): a pytest
session that runs it prepares as every scenario session does, the sweep of leftovers and
the settling of dead runs, in about a second."""


async def test_noop(chaos):
    pass
