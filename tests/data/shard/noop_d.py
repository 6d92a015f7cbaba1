"""A scenario that starts nothing: the sharding test's sweep (tests/test_shard.py)."""


async def test_noop_d(chaos):
    pass
