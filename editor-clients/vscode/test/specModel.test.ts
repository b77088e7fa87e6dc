import { test } from "node:test";
import assert from "node:assert/strict";
import { SpecRuns, SpecWire, canRun, childrenOf, runOf, specDescription, specTaskState } from "../src/specModel";
import { TaskView } from "../src/model";

const spec: SpecWire = {
  name: "shop", format: "kiro", path: ".kiro/specs/shop/tasks.md", uri: "file:///w/t.md",
  folder: "file:///w", done: 1, total: 3,
  tasks: [
    { key: "1", title: "Models", line: 0, done: false },
    { key: "1.1", title: "User", line: 1, done: true, parent: "1" },
    { key: "1.2", title: "Order", line: 2, done: false, parent: "1" },
    { key: "2", title: "Docs", line: 3, done: false, optional: true, parent: null },
  ],
};

function run(status: string, id = "shop-1.2"): TaskView {
  return { id, title: "1.2 Order", agent: "kiro", status, progress: 0, message: "",
    files: [], error: undefined } as unknown as TaskView;
}

test("spec tasks nest under their parents", () => {
  assert.deepEqual(childrenOf(spec).map((t) => t.key), ["1", "2"]);
  assert.deepEqual(childrenOf(spec, "1").map((t) => t.key), ["1.1", "1.2"]);
  assert.equal(specDescription(spec), "kiro · 1/3 done");
});

test("a spec task's state comes from its box, then from the task running it", () => {
  const runs = new SpecRuns();
  runs.record("shop", ["shop-1.2-r2"], ["1.2"]);
  assert.equal(runs.taskId("shop", "1.2"), "shop-1.2-r2");
  assert.equal(runs.taskId("shop", "1"), undefined);
  assert.equal(specTaskState(spec.tasks[1], undefined), "done");
  assert.equal(specTaskState(spec.tasks[2], undefined), "todo");
  assert.equal(specTaskState(spec.tasks[2], run("running")), "running");
  assert.equal(specTaskState(spec.tasks[2], run("completed")), "done");
  assert.ok(canRun("todo") && canRun("failed") && !canRun("queued") && !canRun("done"));
});

test("runs started elsewhere are found by their id, the newest rerun first", () => {
  const tasks = [run("failed"), run("running", "shop-1.2-r2"), run("queued", "shop-1.20"),
    run("completed", "other-1.2")];
  assert.equal(runOf(tasks, "shop", "1.2")?.id, "shop-1.2-r2");
  assert.equal(runOf(tasks, "shop", "1.3"), undefined);
  assert.equal(runOf(tasks, "shop", "1.2", "shop-1.2")?.status, "failed");
});
