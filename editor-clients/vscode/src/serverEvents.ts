// The server's notifications, turned into UI: the task table and its views, lease badges,
// end-of-task and review notifications, live log lines, saving documents after an apply.
import * as vscode from "vscode";
import { LanguageClient } from "vscode-languageclient/node";
import {
  displayName, endSummary, field, leaseFromWire, LeaseTable, logLine, noChanges, taskFromUpdate, TaskView,
} from "./model";
import {
  ActionHost, choiceOf, CONFLICT_BUTTONS, decide, resolveConflict, retryTask, showDiff, showLog,
} from "./taskActions";
import { logText } from "./taskLog";

type Wire = Record<string, unknown>;

/** What the notifications update. */
export interface EventHost extends ActionHost {
  leases: LeaseTable;
  /** The "Yui Tasks" output channel: one line per state change. */
  events: vscode.OutputChannel;
  /** A task ended (the spec lists may have ticked a box). */
  taskEnded(): void;
}

/** Run an async UI reaction; its failure goes to the event log and an error message. */
function react(host: EventHost, work: Promise<unknown>): void {
  work.catch((err: unknown) => {
    const why = err instanceof Error ? err.message : String(err);
    host.events.appendLine(`yui: ${why}`);
    void vscode.window.showErrorMessage(`Yui: ${why}`);
  });
}

async function announceEnd(host: EventHost, task: TaskView): Promise<void> {
  const name = displayName(task);
  if (task.status === "cancelled") return;
  if (task.status === "completed" && !noChanges(task)) {
    void vscode.window.showInformationMessage(`Yui: task '${name}' completed.`);
    return;
  }
  const text = `Yui: task '${name}' ${endSummary(task)}`;
  if (task.status === "conflict") {
    const choice = await vscode.window.showWarningMessage(text, ...CONFLICT_BUTTONS, "Show Diff");
    if (choice === "Show Diff") await showDiff(host, task.id);
    else if (choiceOf(choice)) await resolveConflict(host, task.id, choiceOf(choice));
    return;
  }
  const show = task.status === "failed" ? vscode.window.showErrorMessage : vscode.window.showWarningMessage;
  const choice = await show(text, "Show Log", "Retry");
  if (choice === "Retry") await retryTask(host, task.id);
  if (choice === "Show Log") await showLog(host, task.id);
}

function onTaskUpdate(host: EventHost, msg: Wire): void {
  const task = taskFromUpdate(msg);
  const before = host.tasks.get(task.id);
  const ended = host.tasks.update(task);
  if (!before || before.status !== task.status || before.message !== task.message) {
    host.events.appendLine(logLine(task));
  }
  host.refresh();
  if (ended) {
    react(host, announceEnd(host, task));
    host.taskEnded();
  }
}

function onLocksChanged(host: EventHost, params: Wire): void {
  const first = vscode.workspace.workspaceFolders?.[0]?.uri.toString() ?? "";
  // The server names the folder as the URI we sent it; normalise the spelling to match.
  const folder = typeof params.folder === "string" ? vscode.Uri.parse(params.folder).toString() : first;
  const tasks = Array.isArray(params.tasks) ? (params.tasks as string[]) : undefined;
  host.leases.apply(folder, ((params.locks as Wire[] | undefined) ?? []).map(leaseFromWire), tasks);
  host.refresh();
}

async function onResultReady(host: EventHost, params: Wire): Promise<void> {
  const id = field<string>(params, "task_id") ?? "";
  const known = host.tasks.get(id);
  const paths = field<string[]>(params, "paths") ?? [];
  if (known && paths.length > 0) known.files = paths;
  host.refresh();
  const name = field<string>(params, "title") || (known ? displayName(known) : id);
  const choice = await vscode.window.showInformationMessage(
    `Yui: the result of '${name}' is ready for review (${paths.join(", ")}).`, "Apply", "Discard", "Show Diff");
  if (choice === "Apply") await decide(host, true, id);
  if (choice === "Discard") await decide(host, false, id);
  if (choice === "Show Diff") await showDiff(host, id);
}

function onTaskLog(host: EventHost, params: Wire): void {
  const id = field<string>(params, "task_id") ?? "";
  const lines = (field<Wire[]>(params, "lines") ?? []).map((l) =>
    logText(field<string>(l, "stream"), field<string>(l, "line") ?? ""));
  if (lines.length > 0) host.logs.append(id, lines);
  if (field<boolean>(params, "done")) host.logs.ended(id);
}

function onAgentOutput(host: EventHost, params: Wire): void {
  const id = field<string>(params, "task_id") ?? "";
  // A log being followed gets its lines through yui/taskLog.
  if (host.logs.hasHistory(id)) return;
  host.logs.append(id, [logText(field<string>(params, "stream"), field<string>(params, "line") ?? "")]);
}

/** Save the documents the server names after an apply (per `yui.saveAfterApply`). */
async function onResultApplied(host: EventHost, params: Wire): Promise<void> {
  const saved: string[] = [];
  for (const uri of field<string[]>(params, "save") ?? []) {
    // The document the edit loaded: a closed file may not be among textDocuments yet.
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
    if (doc.isDirty && (await doc.save())) saved.push(vscode.workspace.asRelativePath(doc.uri, false));
  }
  const title = field<string>(params, "title") ?? field<string>(params, "task_id") ?? "";
  const all = field<string[]>(params, "uris") ?? [];
  host.events.appendLine(`'${title}': result applied to ${all.length} file(s); saved ` +
    `${saved.length > 0 ? saved.join(", ") : "none"} (yui.saveAfterApply)`);
}

/** Register every notification handler on a new client. */
export function wireServerEvents(host: EventHost, client: LanguageClient): void {
  client.onNotification("yui/taskUpdate", (msg: Wire) => onTaskUpdate(host, msg));
  client.onNotification("yui/locksChanged", (msg: Wire) => onLocksChanged(host, msg));
  client.onNotification("yui/resultReady", (msg: Wire) => react(host, onResultReady(host, msg)));
  client.onNotification("yui/taskLog", (msg: Wire) => onTaskLog(host, msg));
  client.onNotification("yui/agentOutput", (msg: Wire) => onAgentOutput(host, msg));
  client.onNotification("yui/resultApplied", (msg: Wire) => react(host, onResultApplied(host, msg)));
}
