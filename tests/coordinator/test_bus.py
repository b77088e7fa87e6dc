"""The bus never blocks the publisher."""

from __future__ import annotations

import anyio

from yui_lsp.coordinator.bus import Bus
from yui_lsp.protocol import TaskStatus, TaskUpdate


def _msg(i: int) -> TaskUpdate:
    return TaskUpdate(agent_id="w", task_id=f"t{i}", status=TaskStatus.RUNNING)


async def test_slow_subscriber_drops_instead_of_blocking() -> None:
    bus = Bus()
    seen: list[str] = []
    bus.add_listener(lambda m: seen.append(m.task_id))  # type: ignore[union-attr]
    with bus.subscribe(max_buffer=2) as stream:
        with anyio.fail_after(1):
            for i in range(100):
                bus.publish(_msg(i))
        assert len(seen) == 100
        assert bus.dropped == 98
        first = await stream.receive()
        assert first.task_id == "t0"  # type: ignore[union-attr]


def test_broken_listener_does_not_stop_delivery() -> None:
    bus = Bus()
    seen: list[int] = []

    def broken(_: object) -> None:
        raise RuntimeError("boom")

    bus.add_listener(broken)
    bus.add_listener(lambda m: seen.append(1))
    bus.publish(_msg(1))
    assert seen == [1]
