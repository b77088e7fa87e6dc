// Actions on one task, from its tree item, a notification or the palette (which lists only
// the tasks the action fits): cancel, retry, apply / discard / diff a waiting result, show
// the log, settle a conflict.
import * as vscode from "vscode";
import { fileDiffFromWire, FileDiff, openFileDiff, ResultDocuments, resultTarget } from "./diffView";
import { ACTIVE, WAITING, displayName, field, TaskTable, TaskView, taskDescription } from "./model";
import { logText, TaskLogs } from "./taskLog";

/** What the actions need from the extension. */
export interface ActionHost {
  tasks: TaskTable;
  logs: TaskLogs;
  results: ResultDocuments;
  run<T>(command: string, args?: Record<string, unknown>): Promise<T>;
  /** Redraw the status item, the tree and the badges. */
  refresh(): void;
}

type Wire = Record<string, unknown>;

/** A tree item ({task}), a file below it ({task, path}), a task id, or nothing (pick one). */
export type TaskArg = string | { task?: TaskView; path?: string } | undefined;

export const isOpen = (t: TaskView): boolean => ACTIVE.has(t.status) || WAITING.has(t.status);
export const isRetryable = (t: TaskView): boolean => ["failed", "conflict", "cancelled"].includes(t.status);
export const inReview = (t: TaskView): boolean => t.status === "review";
export const inConflict = (t: TaskView): boolean => t.status === "conflict";
const any = (): boolean => true;

/** The task an action applies to: the one it was invoked on, or one picked from those it fits. */
export async function chooseTask(host: ActionHost, arg: TaskArg, fits: (t: TaskView) => boolean,
  verb: string): Promise<TaskView | undefined> {
  if (typeof arg === "string") return host.tasks.get(arg) ?? taskStub(arg);
  if (arg?.task) return host.tasks.get(arg.task.id) ?? arg.task;
  const items = host.tasks.all().filter(fits).map((t) => ({
    label: displayName(t), description: taskDescription(t), task: t,
  }));
  if (items.length === 0) {
    void vscode.window.showInformationMessage(`Yui: no task to ${verb}.`);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, { title: `Yui: task to ${verb}` });
  return picked?.task;
}

function taskStub(id: string): TaskView {
  return { id, title: "", agent: "", status: "pending", progress: 0, message: "", files: [],
    coordinatorId: "", agentErrors: [] };
}

/** Run a server command about one task; its errors name the task by title. */
async function runFor<T>(host: ActionHost, task: TaskView, command: string,
  args: Record<string, unknown>): Promise<T> {
  try {
    return await host.run<T>(command, args);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`task '${displayName(task)}': ${why}`);
  }
}

interface OkAnswer { ok?: boolean; message?: string }

function tell(task: TaskView, answer: OkAnswer, done: string): void {
  const name = `'${displayName(task)}'`;
  const said = answer.message || done;
  const text = said.includes(name) ? `Yui: ${said}` : `Yui: ${name}: ${said}`;
  if (answer.ok === false) void vscode.window.showWarningMessage(text);
  else void vscode.window.showInformationMessage(text);
}

export async function cancelTask(host: ActionHost, arg?: TaskArg): Promise<void> {
  const task = await chooseTask(host, arg, isOpen, "cancel");
  if (!task) return;
  const answer = await runFor<OkAnswer>(host, task, "yui.cancelTask", { taskId: task.id });
  if (answer.ok === false) tell(task, answer, "not cancelled");
}

export async function retryTask(host: ActionHost, arg?: TaskArg): Promise<void> {
  const task = await chooseTask(host, arg, isRetryable, "retry");
  if (task) await runFor(host, task, "yui.retryTask", { taskId: task.id });
}

/** Apply or discard a waiting result, all of it or the files named. */
export async function decide(host: ActionHost, apply: boolean, arg?: TaskArg, files?: string[]): Promise<void> {
  const verb = apply ? "apply" : "discard";
  const task = await chooseTask(host, arg, inReview, verb);
  if (!task) return;
  const only = files ?? (typeof arg === "object" && arg?.path ? [arg.path] : undefined);
  const answer = await runFor<OkAnswer>(host, task, apply ? "yui.applyResult" : "yui.discardResult",
    { taskId: task.id, ...(only ? { files: only } : {}) });
  tell(task, answer, apply ? "result applied" : "result discarded");
}

/** The diff editor for each changed file of a task's result (or the one file named). */
export async function showDiff(host: ActionHost, arg?: TaskArg): Promise<void> {
  const task = await chooseTask(host, arg, (t) => inReview(t) || inConflict(t), "show the diff of");
  if (!task) return;
  const path = typeof arg === "object" ? arg?.path : undefined;
  const answer = await runFor<{ files?: Wire[]; title?: string }>(host, task, "yui.showDiff",
    { taskId: task.id, ...(path ? { path } : {}) });
  const files: FileDiff[] = (answer.files ?? []).map(fileDiffFromWire);
  if (files.length === 0) {
    void vscode.window.showInformationMessage(`Yui: '${displayName(task)}' has no changed file to show.`);
    return;
  }
  const named = { ...task, title: task.title || answer.title || "" };
  for (const file of files) await openFileDiff(host.results, named, file);
}

/** Apply or discard the file shown in the active diff editor (its right side is the result). */
export async function decideFile(host: ActionHost, apply: boolean, uri?: vscode.Uri): Promise<void> {
  const shown = uri ?? vscode.window.activeTextEditor?.document.uri;
  const target = shown ? resultTarget(shown) : undefined;
  if (!target) {
    void vscode.window.showInformationMessage("Yui: open a task's diff first (Yui: Show Diff).");
    return;
  }
  await decide(host, apply, target.taskId, [target.path]);
  await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
}

/** The agent's output so far, then live: a read-only document per task. */
export async function showLog(host: ActionHost, arg?: TaskArg): Promise<void> {
  const task = await chooseTask(host, arg, any, "show the log of");
  if (!task) return;
  if (!host.logs.hasHistory(task.id)) {
    const answer = await runFor<{ lines?: Wire[]; title?: string }>(host, task, "yui.taskLog",
      { taskId: task.id, follow: true });
    if (!task.title && answer.title) task.title = answer.title;
    host.logs.setHistory(task.id, (answer.lines ?? []).map((l) =>
      logText(field<string>(l, "stream"), field<string>(l, "line") ?? "")));
  }
  await host.logs.show(task);
}

const CHOICES: { label: string; choice: string; detail: string }[] = [
  { label: "Resolve in Editor", choice: "editor",
    detail: "Write both sides into the file with conflict markers (unsaved) to merge by hand" },
  { label: "Keep Mine", choice: "mine", detail: "Keep the workspace as it is; drop the task's change" },
  { label: "Take the Task's", choice: "theirs", detail: "Replace the conflicting files with the task's version" },
  { label: "Re-run on My Text", choice: "rerun",
    detail: "Run the task again on what the editor holds now, unsaved changes included" },
];

/** Settle a conflict with the user's choice (asked when not given). */
export async function resolveConflict(host: ActionHost, arg?: TaskArg, choice?: string): Promise<void> {
  const task = await chooseTask(host, arg, inConflict, "resolve");
  if (!task) return;
  let chosen = choice;
  if (!chosen) {
    const picked = await vscode.window.showQuickPick(CHOICES, {
      title: `Yui: conflict of '${displayName(task)}'`, placeHolder: "How to settle it?",
    });
    chosen = picked?.choice;
  }
  if (!chosen) return;
  const answer = await runFor<OkAnswer & { files?: string[] }>(host, task, "yui.resolveConflict",
    { taskId: task.id, choice: chosen });
  tell(task, answer, "done");
  if (chosen !== "rerun" && answer.ok !== false) {
    task.settled = true;
    task.message = answer.message ?? task.message;
    host.refresh();
  }
  if (chosen === "editor" && answer.ok !== false) {
    // Show the first file with markers, where VS Code offers Accept Current / Incoming / Both.
    const first = (answer.files ?? [])[0];
    if (first) {
      const folder = vscode.workspace.workspaceFolders?.[0];
      const uri = /^[a-z]+:/.test(first) ? vscode.Uri.parse(first)
        : folder ? vscode.Uri.joinPath(folder.uri, first) : vscode.Uri.file(first);
      await vscode.window.showTextDocument(uri, { preview: false });
    }
  }
}

/** The choice labels offered on a conflict notification. */
export const CONFLICT_BUTTONS = CHOICES.map((c) => c.label);

export function choiceOf(label: string | undefined): string | undefined {
  return CHOICES.find((c) => c.label === label)?.choice;
}
