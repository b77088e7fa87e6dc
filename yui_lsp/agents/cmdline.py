"""Command lines the OS accepts: NUL-free, and within the kernel's size limits.

Linux refuses any single argument longer than ``MAX_ARG_STRLEN`` (32 pages, 128 KiB) and a
whole command line plus environment longer than ``ARG_MAX``, with "Argument list too long"
at ``exec``. A prompt is the usual culprit, so adapters whose agent documents another way in
(Claude Code and Codex read the prompt from stdin) use it for long prompts, and every
command is checked here before it starts, so the user gets a clear error instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from yui_lsp.errors import PlanError

#: Longest single argument Linux passes to a program (MAX_ARG_STRLEN, NUL included).
MAX_ARG_BYTES = 32 * 4096 - 1
#: Prompts at least this long go on stdin where the agent can read them there.
LONG_PROMPT_BYTES = 64 * 1024


def is_long(prompt: str) -> bool:
    """Whether ``prompt`` should not travel as a command-line argument."""
    return len(prompt.encode("utf-8", "surrogateescape")) >= LONG_PROMPT_BYTES


def check_command_line(name: str, argv: Sequence[str], env: Mapping[str, str]) -> None:
    """PlanError when ``argv`` (with ``env``) could not be started, saying why."""
    total = 0
    for index, arg in enumerate(argv):
        if "\0" in arg:
            raise PlanError(
                f"argument {index} of the {name} command holds a NUL byte, which no program "
                "argument can carry (remove it from the task's command or prompt)"
            )
        size = len(os.fsencode(arg))
        if size > MAX_ARG_BYTES:
            raise PlanError(
                f"{name} takes this {size // 1024} KB argument (the prompt?) on its command "
                f"line, and the OS allows {MAX_ARG_BYTES // 1024} KB per argument: shorten it, "
                "or put the details in a file in the repository and ask the agent to read it"
            )
        total += size + 1
    for key, value in env.items():
        if "\0" in key or "\0" in value:
            raise PlanError(f"environment variable {key!r} of the {name} command holds a NUL "
                            "byte (remove it from the agent profile's env)")
        total += len(os.fsencode(key)) + len(os.fsencode(value)) + 2
    limit = os.sysconf("SC_ARG_MAX") if hasattr(os, "sysconf") else 2 * 1024 * 1024
    if total > limit - 4096:
        raise PlanError(
            f"the {name} command line and environment take {total // 1024} KB, more than the "
            f"OS allows ({limit // 1024} KB): shorten the prompt or the arguments"
        )
