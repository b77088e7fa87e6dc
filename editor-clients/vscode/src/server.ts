// Finding and starting the yui-lsp server, and the single way the UI talks to it. The probe
// is asynchronous: activation never waits on a child process.
import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import * as path from "node:path";
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";
import { serverCommand } from "./model";

/** How long the probe may take to import the server module. */
const PROBE_TIMEOUT_MS = 15000;

async function executable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The executables named `name` on PATH (or `name` itself when it is a path). */
async function findOnPath(name: string): Promise<boolean> {
  const candidates = name.includes(path.sep)
    ? [name]
    : (process.env.PATH ?? "").split(path.delimiter).filter(Boolean).map((d) => path.join(d, name));
  for (const file of candidates) {
    if (await executable(file)) return true;
  }
  return false;
}

/** Why the server cannot start, or undefined when it looks startable. */
export async function missingServer(command: string, args: string[]): Promise<string | undefined> {
  if (!(await findOnPath(command))) return `the server command '${command}' was not found`;
  const module = args[0] === "-m" ? args[1] : undefined;
  if (!module) return undefined;
  return new Promise((resolve) => {
    execFile(command, ["-c", `import ${module}`], { timeout: PROBE_TIMEOUT_MS }, (err) => {
      resolve(err ? `'${command}' cannot import ${module}` : undefined);
    });
  });
}

/** The install help, read-only: the Markdown preview of the extension's own page. */
export async function showInstallHelp(extensionUri: vscode.Uri): Promise<void> {
  await vscode.commands.executeCommand("markdown.showPreview",
    vscode.Uri.joinPath(extensionUri, "media", "install.md"));
}

export async function offerInstallHelp(reason: string, extensionUri: vscode.Uri): Promise<void> {
  const choice = await vscode.window.showErrorMessage(
    `Yui: ${reason}. Install the yui-lsp server or set "yui.server.command".`,
    "How to install",
    "Open Settings",
  );
  if (choice === "How to install") {
    await showInstallHelp(extensionUri);
  } else if (choice === "Open Settings") {
    await vscode.commands.executeCommand("workbench.action.openSettings", "yui.server.command");
  }
}

/** The settings the server reads from initializationOptions (camelCase, like the commands). */
export function serverSettings(): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration("yui");
  // Yui's model: only when set, so the project's [tool.yui.yui] applies otherwise.
  const model = config.get<Record<string, unknown>>("yui") ?? {};
  return {
    maxWorkers: config.get<number>("maxWorkers"),
    applyMode: config.get<string>("applyMode"),
    saveAfterApply: config.get<string>("saveAfterApply"),
    agents: config.get<Record<string, unknown>>("agents"),
    // null/empty: the project's [tool.yui] decides (the server ignores null values).
    executor: config.get<string | null>("executor") || null,
    rayAddress: config.get<string | null>("rayAddress") || null,
    ...(Object.keys(model).length > 0 ? { yui: model } : {}),
  };
}

function clientOptions(log: vscode.OutputChannel): LanguageClientOptions {
  return {
    documentSelector: [{ scheme: "file" }],
    synchronize: { configurationSection: "yui" },
    initializationOptions: serverSettings(),
    outputChannel: log,
    middleware: {
      workspace: {
        // Answer the server's "yui" section with its own settings only: the extension's
        // client-side keys (server.command, defaultAgent) are not server settings.
        configuration: async (params, token, next) => {
          const answers = await next(params, token);
          if (!Array.isArray(answers)) return answers;
          return params.items.map((item, i) => (item.section === "yui" ? serverSettings() : answers[i]));
        },
      },
    },
  };
}

type ServerState = "stopped" | "starting" | "running" | "missing" | "failed";

/** The connection to the server: probes, starts, stops, and runs `yui.*` commands. */
export class Server {
  client: LanguageClient | undefined;
  state: ServerState = "stopped";
  /** Why the server is not running, for the user. */
  reason = "the yui-lsp server has not started yet";
  private readonly stateChanged = new vscode.EventEmitter<ServerState>();
  readonly onDidChangeState = this.stateChanged.event;

  constructor(
    private readonly log: vscode.OutputChannel,
    private readonly extensionUri: vscode.Uri,
    /** Wires the server's notifications on each new client, before it starts. */
    private readonly wire: (client: LanguageClient) => void,
  ) {}

  private setState(state: ServerState, reason = ""): void {
    this.state = state;
    if (reason) this.reason = reason;
    this.stateChanged.fire(state);
  }

  async start(): Promise<void> {
    this.setState("starting");
    const configured = vscode.workspace.getConfiguration("yui").get<string[]>("server.command");
    const found = new Map<string, boolean>();
    for (const name of ["yui-lsp", "python3"]) found.set(name, await findOnPath(name));
    const { command, args } = serverCommand(configured, (name) => found.get(name) ?? false);
    const missing = await missingServer(command, args);
    if (missing) {
      this.log.appendLine(`yui: ${missing}`);
      this.setState("missing", missing);
      void offerInstallHelp(missing, this.extensionUri);
      return;
    }
    const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const options: ServerOptions = { command, args, transport: TransportKind.stdio, options: { cwd } };
    const client = new LanguageClient("yui", "yui-lsp", options, clientOptions(this.log));
    this.wire(client);
    this.client = client;
    try {
      await client.start();
    } catch (err) {
      this.log.appendLine(`yui: the server failed to start: ${String(err)}`);
      this.setState("failed", "the yui-lsp server failed to start (see the yui-lsp output)");
      throw err;
    }
    this.setState("running");
    void this.logDoctor();
  }

  /** Says in the yui-lsp output how yui works in each folder (`yui.doctor`): its file
   *  system, how an apply flushes there, who shares its locks, where the control sockets
   *  live, whether agents run confined. */
  private async logDoctor(): Promise<void> {
    try {
      const answer = await this.run<{ reports?: Record<string, unknown>[] }>("yui.doctor", {});
      for (const report of answer.reports ?? []) {
        this.log.appendLine(`yui: workspace ${String(report.workspace)} on ${String(report.file_system)} ` +
          `(mounted at ${String(report.mount_point)})`);
        this.log.appendLine(`yui:   durability: ${String(report.flush)}`);
        this.log.appendLine(`yui:   file locks: ${String(report.locks)}`);
        this.log.appendLine(`yui:   control socket: ${String(report.control_socket)}`);
        this.log.appendLine(`yui:   confinement: ${String(report.confinement)}`);
      }
    } catch (err) {
      this.log.appendLine(`yui: yui.doctor failed: ${String(err)}`);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client?.isRunning()) await client.stop();
    this.setState("stopped", "the yui-lsp server was stopped");
  }

  isRunning(): boolean {
    return this.client !== undefined && this.client.isRunning();
  }

  /** True when the server answers commands; otherwise tells the user why not, first. */
  async ensureRunning(): Promise<boolean> {
    if (this.isRunning()) return true;
    const why = this.state === "starting" ? "the yui-lsp server is still starting" : this.reason;
    const choice = await vscode.window.showErrorMessage(`Yui: ${why}.`, "How to install", "Restart Server");
    if (choice === "How to install") await showInstallHelp(this.extensionUri);
    if (choice === "Restart Server") await vscode.commands.executeCommand("yui-lsp.restartServer");
    return false;
  }

  /** Run one `yui.*` server command with its single camelCase argument object. */
  async run<T>(command: string, args: Record<string, unknown> = {}): Promise<T> {
    if (!this.client || !this.client.isRunning()) {
      throw new Error("the yui-lsp server is not running (see the yui-lsp output channel)");
    }
    return (await this.client.sendRequest(ExecuteCommandRequest.type, {
      command,
      arguments: [args],
    })) as T;
  }
}
