"""A scenario with a bug: it raises after starting the server and a service."""


async def test_raises_midway(chaos):
    await chaos.start_server()
    await chaos.start_service("counter", "harness.bundled.services.counter:app")
    raise RuntimeError("scenario bug on purpose")
