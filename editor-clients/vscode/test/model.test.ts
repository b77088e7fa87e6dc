// Unit tests of the extension's own logic, in plain Node (no VS Code).
import { test } from "node:test";
import assert from "node:assert/strict";
import { covers } from "../src/claims";
import {
  LeaseTable, LeaseView, TaskTable, componentAgents, leaseFromWire, leaseTooltip, logLine,
  endSummary, noChanges, serverCommand, statusText, taskDescription, taskFromInfo, taskFromUpdate,
} from "../src/model";

const update = (fields: Record<string, unknown>): Record<string, unknown> => ({
  type: "task_update", agent_id: "yui_worker_1", timestamp: "2026-01-01T00:00:00Z", ...fields,
});

test("status bar counts running, queued and failed tasks", () => {
  const table = new TaskTable();
  assert.equal(statusText(table.counts()), "$(check) yui");
  table.update(taskFromUpdate(update({ task_id: "a", status: "running", progress: 0.4 })));
  table.update(taskFromUpdate(update({ task_id: "b", status: "queued" })));
  table.update(taskFromUpdate(update({ task_id: "c", status: "blocked" })));
  assert.equal(statusText(table.counts()), "$(sync~spin) yui 1 running · 2 queued");
  table.update(taskFromUpdate(update({ task_id: "a", status: "failed", error: "exit 1" })));
  table.update(taskFromUpdate(update({ task_id: "b", status: "conflict" })));
  table.update(taskFromUpdate(update({ task_id: "c", status: "completed", progress: 1 })));
  assert.equal(statusText(table.counts()), "$(error) yui 2 failed");
  table.clearFinished();
  assert.equal(table.all().length, 0);
});

test("a task's end is reported once, however many terminal updates arrive", () => {
  const table = new TaskTable();
  assert.equal(table.update(taskFromUpdate(update({ task_id: "a", status: "running" }))), false);
  assert.equal(table.update(taskFromUpdate(update({ task_id: "a", status: "completed" }))), true);
  assert.equal(table.update(taskFromUpdate(update({ task_id: "a", status: "completed" }))), false);
});

test("listTasks entries (camelCase) and updates (snake_case) read the same", () => {
  const fromInfo = taskFromInfo({
    task: { id: "fix-1", title: "Fix", agent: "kiro" }, status: "running", progress: 0.25,
    message: "editing", agentId: "kiro_worker_1", filesModified: ["a.py"], error: null,
  });
  const fromUpdate = taskFromUpdate(update({
    task_id: "fix-1", title: "Fix", agent: "kiro", status: "running", progress: 0.25,
    message: "editing", files_modified: ["a.py"],
  }));
  assert.deepEqual(fromInfo, fromUpdate);
  assert.equal(taskDescription(fromInfo), "running · kiro · 25%");
});

test("leases cover exact files, folders and globs", () => {
  assert.ok(covers("src/a.py", "src/a.py"));
  assert.ok(!covers("src/a.py", "src/a.pyc"));
  assert.ok(covers("src", "src/deep/x.ts"));
  assert.ok(covers("src/**", "src/deep/x.ts"));
  assert.ok(covers("src/**/*.ts", "src/x.ts"));
  assert.ok(covers("src/**/*.ts", "src/a/b/x.ts"));
  assert.ok(!covers("src/*.ts", "src/a/x.ts"));
  assert.ok(covers("*.{py,md}", "README.md"));
  assert.ok(!covers("*.{py,md}", "setup.cfg"));
  assert.ok(covers("file?.txt", "file1.txt"));
  assert.ok(covers("a.b+c(d).txt", "a.b+c(d).txt"));
  assert.ok(!covers("a.b", "axb"));
});

test("a leased file's tooltip names the task, the agent and the times", () => {
  const table = new LeaseTable();
  const acquired = new Date(2026, 0, 15, 10, 29);
  const expires = new Date(2026, 0, 15, 10, 34);
  table.apply("file:///ws", [leaseFromWire({
    file_path: "src/**", locked_by: "fix-1", lock_type: "exclusive",
    acquired_at: acquired.toISOString(), expires_at: expires.toISOString(), owner_pid: 1,
    host: "h", agent: "kiro", task_title: "Fix parser",
  })]);
  const lease = table.find("file:///ws", "src/parser.py");
  assert.ok(lease);
  assert.equal(leaseTooltip(lease), "Leased by task 'Fix parser' (kiro) since 10:29, until 10:34");
  assert.equal(table.find("file:///ws", "tests/test_parser.py"), undefined);
  assert.equal(table.find("file:///other", "src/parser.py"), undefined);
});

test("lease changes replace the leases of the tasks they name and keep the others", () => {
  const lease = (path: string, task: string): LeaseView => leaseFromWire({
    file_path: path, locked_by: task, acquired_at: "", expires_at: "",
  });
  const table = new LeaseTable();
  table.apply("file:///ws", [lease("held/1", "big"), lease("held/2", "big"), lease("a", "t1")]);
  table.apply("file:///ws", [lease("b", "t1"), lease("c", "t2")], ["t1", "t2"]);
  assert.deepEqual(table.all().map((l) => `${l.taskId}:${l.path}`).sort(),
    ["big:held/1", "big:held/2", "t1:b", "t2:c"]);
  table.apply("file:///ws", [], ["big"]);
  assert.equal(table.find("file:///ws", "held/1"), undefined, "a task named with no leases holds none");
  assert.equal(table.find("file:///ws", "b")?.taskId, "t1");
  table.apply("file:///ws", [lease("z", "t3")]);
  assert.deepEqual(table.all().map((l) => l.path), ["z"], "a whole table replaces the folder's");
  table.apply("file:///other", [lease("q", "t9")], ["t9"]);
  assert.equal(table.find("file:///other", "q")?.taskId, "t9", "a change may come first");
});

test("the server command: configured, else yui-lsp on PATH, else python -m yui_lsp", () => {
  assert.deepEqual(serverCommand(["/venv/bin/python", "-m", "yui_lsp"], () => false),
    { command: "/venv/bin/python", args: ["-m", "yui_lsp"] });
  assert.deepEqual(serverCommand([], (n) => n === "yui-lsp"), { command: "yui-lsp", args: [] });
  assert.deepEqual(serverCommand(undefined, (n) => n === "python3"),
    { command: "python3", args: ["-m", "yui_lsp"] });
});

test("component assignments parse from name=agent pairs", () => {
  assert.deepEqual(componentAgents("frontend=kiro, backend=claude junk"),
    { frontend: "kiro", backend: "claude" });
});

test("the task log says what happened", () => {
  const task = taskFromUpdate(update({
    task_id: "a", title: "Fix", agent: "yui", status: "failed", progress: 0.5, error: "exit 3",
  }));
  assert.equal(logLine(task, new Date(2026, 0, 1, 9, 5, 7)), "[09:05:07] Fix (yui): failed 50% — exit 3");
});

test("a stale task list neither hides new tasks nor revives ended ones", () => {
  const table = new TaskTable();
  table.update(taskFromUpdate(update({ task_id: "a", status: "running" })));
  table.update(taskFromUpdate(update({ task_id: "b", status: "completed" })));
  table.merge([taskFromInfo({ task: { id: "b" }, status: "running" })]);
  assert.deepEqual(table.all().map((t) => [t.id, t.status]), [["a", "running"], ["b", "completed"]]);
});

test("a result waiting for review is counted apart from running tasks", () => {
  const table = new TaskTable();
  table.update(taskFromUpdate(update({ task_id: "a", status: "running" })));
  table.update(taskFromUpdate(update({ task_id: "b", status: "review", files_modified: ["n.txt"] })));
  assert.equal(statusText(table.counts()), "$(sync~spin) yui 1 running · 1 to review");
  table.update(taskFromUpdate(update({ task_id: "a", status: "completed" })));
  assert.equal(statusText(table.counts()), "$(diff) yui 1 to review");
  // A later update without files keeps the files the result changes.
  table.update(taskFromUpdate(update({ task_id: "b", status: "review", progress: 0.9 })));
  assert.deepEqual(table.get("b")?.files, ["n.txt"]);
});

test("a task that changed nothing says so, with the agent's own failure lines", () => {
  const quiet = taskFromUpdate(update({
    task_id: "a", status: "completed", outcome: "no_changes",
    agent_errors: ["file_change failed: notes.txt"],
  }));
  assert.ok(noChanges(quiet));
  assert.equal(endSummary(quiet), "completed with no changes: file_change failed: notes.txt");
  const done = taskFromUpdate(update({ task_id: "b", status: "completed", outcome: "changed" }));
  assert.ok(!noChanges(done));
  assert.equal(endSummary(done), "completed");
  const failed = taskFromUpdate(update({ task_id: "c", status: "failed", error: "exit 2" }));
  assert.equal(endSummary(failed), "failed: exit 2");
  assert.equal(endSummary(taskFromUpdate(update({ task_id: "d", status: "cancelled", message: "cancelled" }))),
    "cancelled");
});

test("a settled conflict is no longer counted as failed, even after a list refresh", () => {
  const table = new TaskTable();
  table.update(taskFromUpdate(update({ task_id: "a", status: "conflict" })));
  assert.equal(statusText(table.counts()), "$(error) yui 1 failed");
  const task = table.get("a");
  assert.ok(task);
  task.settled = true;
  assert.equal(statusText(table.counts()), "$(check) yui");
  table.merge([taskFromInfo({ task: { id: "a" }, status: "conflict" })]);
  assert.equal(statusText(table.counts()), "$(check) yui");
  table.merge([taskFromInfo({ task: { id: "a" }, status: "failed" })]);
  assert.equal(statusText(table.counts()), "$(error) yui 1 failed");
});
