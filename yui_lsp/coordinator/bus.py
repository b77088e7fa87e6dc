"""The message bus: every protocol message goes through here to every subscriber.

Publishing never blocks and never fails: listeners are plain callables that must be quick
(the audit log, a record updater), and async consumers read from bounded streams that drop
their oldest-unread messages rather than slow the coordinator down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from yui_lsp.protocol import Message

log = logging.getLogger(__name__)

Listener = Callable[[Message], None]


class Bus:
    """Fan-out of protocol messages to listeners and bounded streams."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._streams: list[MemoryObjectSendStream[Message]] = []
        #: Messages a slow stream consumer did not get (its buffer was full).
        self.dropped = 0

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every message; returns a function that removes it."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    @contextmanager
    def subscribe(self, max_buffer: int = 1000) -> Iterator[MemoryObjectReceiveStream[Message]]:
        """A stream of messages for an async consumer, closed when the block ends."""
        send, receive = anyio.create_memory_object_stream[Message](max_buffer)
        self._streams.append(send)
        try:
            with receive:
                yield receive
        finally:
            self._streams.remove(send)
            send.close()

    def publish(self, message: Message) -> None:
        """Deliver ``message`` to everyone without waiting for anyone."""
        for listener in list(self._listeners):
            try:
                listener(message)
            except Exception:  # a broken listener must not take the coordinator down
                log.exception("bus listener %r failed", listener)
        for stream in list(self._streams):
            try:
                stream.send_nowait(message)
            except anyio.WouldBlock:
                self.dropped += 1
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                if stream in self._streams:
                    self._streams.remove(stream)
