"""The host's queue to the editor is bounded: a slow editor loses output lines, never a
task's latest state or the lease table, and never sees a state older than one it saw."""

from __future__ import annotations

from typing import Any, cast

import anyio

from yui_lsp.protocol import AgentOutput, LocksChanged, Message, TaskStatus, TaskUpdate
from yui_lsp.server.host import CoordinatorHost, Folder


class Recorder:
    def __init__(self) -> None:
        self.seen: list[Message] = []
        self.locks: list[Folder] = []

    def on_message(self, folder: Folder, message: Message) -> None:
        self.seen.append(message)

    def on_locks(self, folder: Folder) -> None:
        self.locks.append(folder)


def update(task_id: str, status: TaskStatus) -> TaskUpdate:
    return TaskUpdate(agent_id="w", task_id=task_id, status=status)


async def test_a_full_inbox_keeps_each_tasks_latest_state_in_order() -> None:
    host = CoordinatorHost(cast(Any, None), cast(Any, None))
    recorder = Recorder()
    host.features.append(recorder)
    folder = cast(Folder, type("F", (), {"uri": "file:///w"})())
    send, receive = anyio.create_memory_object_stream[tuple[Folder, Message]](2)
    host._inbox = send
    for message in [update("a", TaskStatus.RUNNING), update("b", TaskStatus.RUNNING),
                    AgentOutput(task_id="a", agent_id="w", stream="stdout", line="x"),
                    update("a", TaskStatus.INTEGRATING), update("a", TaskStatus.COMPLETED),
                    LocksChanged(locks=[])]:
        host._deliver(folder, message)
    assert host.dropped == 1, "the output line is dropped, not queued"
    send.close()
    await host._pump(receive)
    states = [(m.task_id, m.status) for m in recorder.seen if isinstance(m, TaskUpdate)]
    assert states == [("a", TaskStatus.RUNNING), ("b", TaskStatus.RUNNING),
                      ("a", TaskStatus.COMPLETED)]
    assert not any(isinstance(m, AgentOutput) for m in recorder.seen)
