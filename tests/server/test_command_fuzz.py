"""Every command the server registers, and the LSP requests it serves, sent generated
arguments (random JSON, and each argument model's fields with wrong types, numbers out of
range, huge and odd strings, paths that climb out or hold NUL bytes, unknown task ids):
every answer is a result or an error the client caused, never InternalError, and the
server keeps answering. Tasks a generated argument manages to submit run a quick command
or fail to start at once, and are cancelled straight away."""

from __future__ import annotations

import enum
import sys
import time
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from tests.server.raw_client import RawServer, serving
from yui_lsp.server.command_names import COMMAND_NAMES
from yui_lsp.server.commands import TABLE, Commands
from yui_lsp.server.review import REVIEW_TABLE

INTERNAL_ERROR = -32603
#: What a refusal may be: InvalidRequest, MethodNotFound, InvalidParams, a YuiError.
CLIENT_ERRORS = {-32600, -32601, -32602, -32001}
QUICK = [sys.executable, "-c", "pass"]

ODD_TEXT = st.sampled_from([
    "", " ", "../x", "../../etc/passwd", "/etc/passwd", "src/\x00a.py", "a\x00", "**/*",
    "**", "{src,../..}/x", "src/{a,b}.py", "{,}", "~", "~/.ssh/id_rsa", ".yui/locks/x",
    ".git/config", "src/a.py", "src", "C:\\Windows", "file:///etc/passwd", "\\\\host\\x",
    "x" * 100_000, "é✓\U0001f600", "\u202e\u0000\ud7ff", "[a-", "(?P<x", "no-such-task",
    "task-0", "*", "-rf", "src/a.py\nsrc/b.py", "fuzz-done", "fuzz-review", "fuzz-review"])
TEXT = ODD_TEXT | st.text(max_size=20)
NUMBER = st.integers(min_value=-(2**70), max_value=2**70) | st.sampled_from(
    [0, -1, 1, 256, 257, 2**31, 2**63]) | st.floats(allow_nan=False, allow_infinity=False)
SCALAR = st.none() | st.booleans() | NUMBER | TEXT
JSON = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(TEXT, inner, max_size=4), max_leaves=8)
AGENT = st.sampled_from(["yui", "shell", "refactor", "no-such-agent", ""]) | TEXT
#: A command field is never a program the fuzz could find on PATH.
COMMAND = st.sampled_from([QUICK, [], [""], ["/nonexistent/program"], "pass", 5, None])


#: Arguments that are accepted, for the generated fields to start from half of the time.
ACCEPTED: dict[str, dict[str, Any]] = {
    "yui.submitTask": {"title": "fuzz", "agent": "yui", "command": QUICK},
    "yui.submitPlan": {"tasks": [{"title": "fuzz", "agent": "yui", "command": QUICK}]},
    "yui.refactor": {"pattern": "x", "replacement": "x", "files": ["src/*.py"]},
    "yui.taskLog": {"taskId": "fuzz-done"},
    "yui.showDiff": {"taskId": "fuzz-review"},
    "yui.applyResult": {"taskId": "fuzz-review"},
    "yui.discardResult": {"taskId": "fuzz-review"},
    "yui.resolveConflict": {"taskId": "fuzz-done", "choice": "rerun"},
    "yui.parseCommand": {"commandLine": "echo x"},
}


def model_of(name: str) -> type[BaseModel]:
    return (TABLE | REVIEW_TABLE)[name][0]


def plausible(annotation: Any, depth: int) -> list[st.SearchStrategy[Any]]:
    """Values of the kinds ``annotation`` names (the odd ones of each kind)."""
    if annotation is str:
        return [TEXT]
    if annotation is bool:
        return [st.booleans()]
    if annotation in (int, float):
        return [NUMBER]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [st.sampled_from([member.value for member in annotation])]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [model_shaped(annotation, depth + 1)] if depth < 2 else []
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return [st.sampled_from(args)]
    if origin in (list, set, tuple):
        inner = [s for arg in args for s in plausible(arg, depth)]
        return [st.lists(st.one_of(inner), max_size=3)] if inner else []
    if origin is dict:
        return [st.dictionaries(TEXT, JSON, max_size=3)]
    return [s for arg in args for s in plausible(arg, depth)]  # unions, Annotated


@st.composite
def model_shaped(draw: st.DrawFn, model: type[BaseModel], depth: int = 0) -> dict[str, Any]:
    """Some of ``model``'s fields, each with a value of its kind or of any kind."""
    fields = {field.alias or key: field for key, field in model.model_fields.items()}
    required = [name for name, field in fields.items() if field.is_required()]
    names = required[:draw(st.integers(len(required) - 1, len(required)))] + draw(
        st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=3))
    argument: dict[str, Any] = {}
    for name in names:
        if name == "command":
            argument[name] = draw(COMMAND)
        elif name == "agent":
            argument[name] = draw(AGENT)
        else:
            kinds = plausible(fields[name].annotation, depth)
            argument[name] = draw(st.one_of(*kinds) if kinds and draw(
                st.integers(0, 7)) else JSON)
    return argument


@st.composite
def command_call(draw: st.DrawFn) -> tuple[str, list[Any]]:
    name = draw(st.sampled_from(sorted(COMMAND_NAMES)))
    shaped = model_shaped(model_of(name))
    if name in ACCEPTED and draw(st.booleans()):
        shaped = shaped.map(lambda fields: {**ACCEPTED[name], **fields})
    kind = draw(st.integers(0, 5))  # mostly the one object argument a command takes
    if kind == 4:
        return name, draw(st.lists(JSON, max_size=2))
    return name, [draw(shaped) for _ in range(2 if kind == 5 else 1)]


WRITE = [sys.executable, "-c", "open('src/a.py', 'a').write('w = 4\\n')"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawServer]:
    """A server in review mode holding an ended task, ``fuzz-done``, and a result waiting
    for review, ``fuzz-review``, for the task ids to name."""
    with serving(tmp_path_factory.mktemp("fuzz"), {"applyMode": "review"}) as running:
        done = running.command("yui.submitPlan", {"tasks": [
            {"id": "fuzz-done", "title": "done", "agent": "yui", "command": QUICK},
            {"id": "fuzz-review", "title": "review", "agent": "yui", "command": WRITE,
             "claims": ["src/a.py"]}]})
        assert done["result"]["taskIds"] == ["fuzz-done", "fuzz-review"], done
        deadline = time.monotonic() + 60
        while "fuzz-review" not in waiting_for_review(running):
            assert time.monotonic() < deadline, running.command("yui.listTasks", {})
            time.sleep(0.05)
        yield running


def waiting_for_review(server: RawServer) -> list[str]:
    listed = server.command("yui.listTasks", {"status": "review"})["result"]["tasks"]
    return [info["task"]["id"] for info in listed]


def check_answer(answer: dict[str, Any]) -> None:
    assert ("result" in answer) != ("error" in answer), answer
    if "error" in answer:
        error = answer["error"]
        assert error["code"] != INTERNAL_ERROR, answer
        assert error["code"] in CLIENT_ERRORS, answer
        assert error["message"], answer


def submitted(answer: dict[str, Any]) -> list[str]:
    result = answer.get("result")
    if not isinstance(result, dict):
        return []
    one = result.get("taskId")
    return [one] if isinstance(one, str) else list(result.get("taskIds") or [])


def test_the_fuzz_covers_every_registered_command() -> None:
    assert sorted(COMMAND_NAMES) == Commands.table_names()


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(call=command_call())
@example(call=("yui.listTasks", [{"folder": "src/\x00a.py"}]))  # was InternalError
@example(call=("yui.runSpec", [{"spec": "src/\x00a.py"}]))  # was InternalError
def test_generated_command_arguments_are_answered_without_internal_error(
        server: RawServer, call: tuple[str, list[Any]]) -> None:
    name, arguments = call
    before = len(server.stderr())
    answer = server.command(name, *arguments)
    check_answer(answer)
    for task_id in submitted(answer):
        check_answer(server.command("yui.cancelTask", {"taskId": task_id}))
    server.assert_serving(before)


LSP_REQUESTS = ["textDocument/hover", "textDocument/codeLens", "textDocument/codeAction",
                "workspace/executeCommand", "yui/taskUpdate", "yui/taskLog", "yui.listTasks"]
LSP_NOTIFICATIONS = ["textDocument/didOpen", "textDocument/didChange", "textDocument/didClose",
                     "workspace/didChangeConfiguration", "workspace/didChangeWorkspaceFolders",
                     "window/workDoneProgress/cancel", "$/cancelRequest", "$/setTrace",
                     "yui/locksChanged"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=st.sampled_from(LSP_REQUESTS), params=JSON,
       notification=st.sampled_from(LSP_NOTIFICATIONS), notification_params=JSON)
def test_generated_lsp_params_are_answered_without_internal_error(
        server: RawServer, method: str, params: Any, notification: str,
        notification_params: Any) -> None:
    before = len(server.stderr())
    server.notify(notification, notification_params)
    check_answer(server.request(method, params))
    server.assert_serving(before)
