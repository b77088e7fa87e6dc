// Entry point: builds the extension's parts, registers its commands and views, and starts
// the yui-lsp client without waiting for it (the probe runs in the background).
import * as vscode from "vscode";
import { develop, plan, refactor, submitTask } from "./commands";
import { ResultDocuments, RESULT_SCHEME } from "./diffView";
import { LeaseDecorations } from "./leaseDecorations";
import { LeaseTable, TaskTable, taskFromInfo } from "./model";
import { Server } from "./server";
import { EventHost, wireServerEvents } from "./serverEvents";
import { SpecsView } from "./specs";
import { StatusItem } from "./statusBar";
import {
  cancelTask, decide, decideFile, resolveConflict, retryTask, showDiff, showLog, TaskArg,
} from "./taskActions";
import { LOG_SCHEME, TaskLogs } from "./taskLog";
import { TasksView } from "./tasksView";

let server: Server | undefined;

/** Runs a command handler; a failure becomes one error message. */
function guarded<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      void vscode.window.showErrorMessage(`Yui: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
}

export function activate(context: vscode.ExtensionContext): void {
  const tasks = new TaskTable();
  const leases = new LeaseTable();
  const serverLog = vscode.window.createOutputChannel("yui-lsp");
  const events = vscode.window.createOutputChannel("Yui Tasks");
  const tree = new TasksView(tasks);
  const decorations = new LeaseDecorations(leases);
  const status = new StatusItem();
  const logs = new TaskLogs();
  const results = new ResultDocuments();
  let specs: SpecsView | undefined;

  const host: EventHost = {
    tasks, leases, events, logs, results,
    run: <T>(command: string, args?: Record<string, unknown>) => {
      if (!server) throw new Error("the yui extension is not active");
      return server.run<T>(command, args);
    },
    refresh: () => {
      const counts = tasks.counts();
      if (server?.isRunning()) status.tasks(counts);
      // The palette offers Apply / Discard only while a result waits.
      void vscode.commands.executeCommand("setContext", "yui.hasReview", counts.review > 0);
      tree.refresh();
      decorations.refresh();
      specs?.refresh();
    },
    taskEnded: () => {
      specs?.reload().catch((err: unknown) => events.appendLine(String(err)));
    },
  };
  specs = new SpecsView(host);
  const specView = specs;
  const yui = new Server(serverLog, context.extensionUri, (client) => wireServerEvents(host, client));
  server = yui;
  const commandHost = { run: host.run, ensureRunning: () => yui.ensureRunning() };

  yui.onDidChangeState((state) => {
    if (state === "starting") status.server("$(loading~spin) yui starting", "yui: starting the yui-lsp server");
    else if (state === "missing") status.server("$(error) yui: no server", `yui: ${yui.reason}`);
    else if (state === "failed") status.server("$(error) yui: server failed", `yui: ${yui.reason}`);
    else if (state === "running") host.refresh();
  });

  const refreshFromServer = async (): Promise<void> => {
    const listed = await yui.run<{ tasks?: Record<string, unknown>[] }>("yui.listTasks");
    tasks.merge((listed.tasks ?? []).map(taskFromInfo));
    host.refresh();
  };

  const start = async (): Promise<void> => {
    await yui.start();
    if (yui.isRunning()) {
      await refreshFromServer();
      await specView.reload();
    }
  };

  const register = (name: string, fn: (...args: never[]) => Promise<void>): vscode.Disposable =>
    vscode.commands.registerCommand(name, guarded(fn));

  context.subscriptions.push(
    serverLog, events, status,
    vscode.window.registerTreeDataProvider("yuiTasks", tree),
    vscode.window.registerFileDecorationProvider(decorations),
    vscode.workspace.registerTextDocumentContentProvider(LOG_SCHEME, logs),
    vscode.workspace.registerTextDocumentContentProvider(RESULT_SCHEME, results),
    register("yui-lsp.submitTask", () => submitTask(commandHost)),
    register("yui-lsp.develop", () => develop(commandHost)),
    register("yui-lsp.refactor", () => refactor(commandHost)),
    register("yui-lsp.plan", () => plan(commandHost)),
    register("yui-lsp.cancelTask", (arg?: TaskArg) => cancelTask(host, arg)),
    register("yui-lsp.retryTask", (arg?: TaskArg) => retryTask(host, arg)),
    register("yui-lsp.applyResult", (arg?: TaskArg) => decide(host, true, arg)),
    register("yui-lsp.discardResult", (arg?: TaskArg) => decide(host, false, arg)),
    register("yui-lsp.showDiff", (arg?: TaskArg) => showDiff(host, arg)),
    register("yui-lsp.showFileDiff", (arg?: TaskArg) => showDiff(host, arg)),
    register("yui-lsp.applyFile", (uri?: vscode.Uri) => decideFile(host, true, uri)),
    register("yui-lsp.discardFile", (uri?: vscode.Uri) => decideFile(host, false, uri)),
    register("yui-lsp.showLog", (arg?: TaskArg) => showLog(host, arg)),
    register("yui-lsp.resolveConflict", (arg?: TaskArg) => resolveConflict(host, arg)),
    register("yui-lsp.showTasks", async () => {
      await vscode.commands.executeCommand("yuiTasks.focus");
    }),
    register("yui-lsp.showEvents", async () => events.show(true)),
    register("yui-lsp.showServerLog", async () => serverLog.show(true)),
    register("yui-lsp.clearFinished", async () => {
      const ended = tasks.clearFinished();
      host.refresh();
      if (yui.isRunning() && ended.length > 0) await yui.run("yui.clearTasks", { taskIds: ended });
    }),
    vscode.window.registerTreeDataProvider("yuiSpecs", specView),
    register("yui-lsp.runSpec", (node?: never) => specView.run(node)),
    register("yui-lsp.runSpecTask", (node?: never) => specView.run(node)),
    register("yui-lsp.refreshSpecs", () => specView.reload()),
    register("yui-lsp.restartServer", async () => {
      await yui.stop();
      await start();
    }),
  );

  start().catch((err: unknown) => {
    serverLog.appendLine(`yui: the server failed to start: ${String(err)}`);
    void vscode.window.showErrorMessage("Yui: the yui-lsp server failed to start (see the yui-lsp output).");
  });
}

export async function deactivate(): Promise<void> {
  await server?.stop();
}
