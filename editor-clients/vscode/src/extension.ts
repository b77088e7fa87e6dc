// Entry point: starts the yui-lsp client and wires its notifications to the UI
// (tree view, status bar, explorer badges, task log, notifications).
import * as vscode from "vscode";
import { LanguageClient } from "vscode-languageclient/node";
import { develop, Host, plan, refactor, submitTask, taskAction } from "./commands";
import { LeaseDecorations } from "./leaseDecorations";
import {
  LeaseTable, TaskTable, TaskView, displayName, leaseFromWire, logLine, statusText,
  taskFromInfo, taskFromUpdate,
} from "./model";
import { createClient, runServerCommand } from "./server";
import { SpecsView } from "./specs";
import { TasksView } from "./tasksView";

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const tasks = new TaskTable();
  const leases = new LeaseTable();
  const serverLog = vscode.window.createOutputChannel("yui-lsp");
  const taskLog = vscode.window.createOutputChannel("Yui Tasks");
  const tree = new TasksView(tasks);
  const decorations = new LeaseDecorations(leases);
  const status = vscode.window.createStatusBarItem("yui.status", vscode.StatusBarAlignment.Left, 50);
  status.name = "Yui tasks";
  status.command = "yui-lsp.showTasks";

  const host: Host = {
    tasks,
    run: <T>(command: string, args?: Record<string, unknown>) => runServerCommand<T>(client, command, args),
  };
  const specs = new SpecsView(host);
  const guarded = (fn: (...args: never[]) => Promise<void>) => async (...args: never[]) => {
    try {
      await fn(...args);
    } catch (err) {
      void vscode.window.showErrorMessage(`Yui: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  const refreshStatus = (): void => {
    const counts = tasks.counts();
    status.text = statusText(counts);
    status.tooltip = `yui: ${counts.running} running, ${counts.queued} queued, ` +
      `${counts.failed} failed, ${counts.completed} completed — click to show the tasks`;
    status.show();
    tree.refresh();
    specs.refresh();
  };

  const announceEnd = async (task: TaskView): Promise<void> => {
    const name = displayName(task);
    if (task.status === "completed") {
      void vscode.window.showInformationMessage(`Yui: task '${name}' completed.`);
      return;
    }
    if (task.status === "cancelled") return;
    const show = task.status === "failed" ? vscode.window.showErrorMessage : vscode.window.showWarningMessage;
    const choice = await show(`Yui: task '${name}' ${task.status}: ${task.error ?? task.message}`,
      "Retry", "Show Log");
    if (choice === "Retry") await host.run("yui.retryTask", { taskId: task.id });
    if (choice === "Show Log") taskLog.show(true);
  };

  const onTaskUpdate = (msg: Record<string, unknown>): void => {
    const task = taskFromUpdate(msg);
    const before = tasks.get(task.id);
    const ended = tasks.update(task);
    if (!before || before.status !== task.status || before.message !== task.message) {
      taskLog.appendLine(logLine(task));
    }
    refreshStatus();
    if (ended) void announceEnd(task).catch((err: unknown) => taskLog.appendLine(String(err)));
    if (ended) void specs.reload().catch((err: unknown) => taskLog.appendLine(String(err)));
  };

  const onLocksChanged = (params: { folder?: string; locks?: Record<string, unknown>[] }): void => {
    const first = vscode.workspace.workspaceFolders?.[0]?.uri.toString() ?? "";
    // The server names the folder as the URI we sent it; normalise the spelling to match.
    const folder = params.folder ? vscode.Uri.parse(params.folder).toString() : first;
    leases.set(folder, (params.locks ?? []).map(leaseFromWire));
    decorations.refresh();
  };

  const onResultReady = async (params: Record<string, unknown>): Promise<void> => {
    const id = String(params.task_id ?? params.taskId ?? "");
    const name = String(params.title ?? "") || id;
    const choice = await vscode.window.showInformationMessage(
      `Yui: the result of '${name}' is ready for review.`, "Apply", "Discard");
    if (choice === "Apply") await host.run("yui.applyResult", { taskId: id });
    if (choice === "Discard") await host.run("yui.discardResult", { taskId: id });
  };

  const refreshFromServer = async (): Promise<void> => {
    const listed = await host.run<{ tasks?: Record<string, unknown>[] }>("yui.listTasks");
    tasks.merge((listed.tasks ?? []).map(taskFromInfo));
    const locked = await host.run<{ locks?: Record<string, unknown>[] }>("yui.listLocks");
    onLocksChanged(locked);
    refreshStatus();
  };

  const showServerState = (text: string, tooltip: string): void => {
    status.text = text;
    status.tooltip = tooltip;
    status.show();
  };

  const start = async (): Promise<void> => {
    showServerState("$(loading~spin) yui starting", "yui: starting the yui-lsp server");
    client = createClient(serverLog);
    if (!client) {
      showServerState("$(error) yui: no server", "yui: the yui-lsp server is not installed");
      return;
    }
    client.onNotification("yui/taskUpdate", onTaskUpdate);
    client.onNotification("yui/locksChanged", onLocksChanged);
    client.onNotification("yui/resultReady", (params: Record<string, unknown>) => {
      onResultReady(params).catch((err: unknown) => taskLog.appendLine(String(err)));
    });
    await client.start();
    refreshStatus();
    await refreshFromServer();
    await specs.reload();
  };

  context.subscriptions.push(
    serverLog, taskLog, status,
    vscode.window.registerTreeDataProvider("yuiTasks", tree),
    vscode.window.registerFileDecorationProvider(decorations),
    vscode.commands.registerCommand("yui-lsp.submitTask", guarded(() => submitTask(host))),
    vscode.commands.registerCommand("yui-lsp.develop", guarded(() => develop(host))),
    vscode.commands.registerCommand("yui-lsp.refactor", guarded(() => refactor(host))),
    vscode.commands.registerCommand("yui-lsp.plan", guarded(() => plan(host))),
    vscode.commands.registerCommand("yui-lsp.cancelTask", guarded(taskAction(host, "yui.cancelTask", "cancel"))),
    vscode.commands.registerCommand("yui-lsp.retryTask", guarded(taskAction(host, "yui.retryTask", "retry"))),
    vscode.commands.registerCommand("yui-lsp.applyResult", guarded(taskAction(host, "yui.applyResult", "apply"))),
    vscode.commands.registerCommand("yui-lsp.discardResult",
      guarded(taskAction(host, "yui.discardResult", "discard"))),
    vscode.commands.registerCommand("yui-lsp.showTasks", () =>
      vscode.commands.executeCommand("yuiTasks.focus")),
    vscode.commands.registerCommand("yui-lsp.showLog", () => taskLog.show(true)),
    vscode.commands.registerCommand("yui-lsp.clearFinished", () => {
      tasks.clearFinished();
      refreshStatus();
    }),
    vscode.window.registerTreeDataProvider("yuiSpecs", specs),
    vscode.commands.registerCommand("yui-lsp.runSpec", guarded((node?: never) => specs.run(node))),
    vscode.commands.registerCommand("yui-lsp.runSpecTask", guarded((node?: never) => specs.run(node))),
    vscode.commands.registerCommand("yui-lsp.refreshSpecs", guarded(() => specs.reload())),
    vscode.commands.registerCommand("yui-lsp.restartServer", guarded(async () => {
      await client?.stop();
      await start();
    })),
  );

  try {
    await start();
  } catch (err) {
    showServerState("$(error) yui: server failed", "yui: the server failed to start; see the yui-lsp output");
    serverLog.appendLine(`yui: the server failed to start: ${String(err)}`);
    void vscode.window.showErrorMessage("Yui: the yui-lsp server failed to start (see the yui-lsp output).");
  }
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
