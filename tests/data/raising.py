"""A scenario with a bug: it raises after starting the server and a service."""


async def test_raises_midway(chaos):
    await chaos.start_server()
    await chaos.start_service("harness.bundled.services.counter:app", name="counter")
    raise RuntimeError("scenario bug on purpose")
