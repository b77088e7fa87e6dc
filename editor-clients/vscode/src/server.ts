// Finding and starting the yui-lsp server, and the single way the UI talks to it.
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
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

export const INSTALL_HELP = `# Installing the yui-lsp server

The Yui extension starts the \`yui-lsp\` language server over stdio. Install it into a
Python 3.11+ environment:

    python3 -m pip install yui-lsp

Then either make sure \`yui-lsp\` is on your PATH, or point the extension at the
interpreter that has it, in your settings:

    "yui.server.command": ["/path/to/venv/bin/python", "-m", "yui_lsp"]

Run **Yui: Restart Server** afterwards.
`;

function onPath(name: string): boolean {
  const candidates = name.includes(path.sep)
    ? [name]
    : (process.env.PATH ?? "").split(path.delimiter).filter(Boolean).map((d) => path.join(d, name));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why the server cannot start, or undefined when it looks startable. */
export function missingServer(command: string, args: string[]): string | undefined {
  if (!onPath(command)) return `the server command '${command}' was not found`;
  const module = args[0] === "-m" ? args[1] : undefined;
  if (module) {
    const probe = spawnSync(command, ["-c", `import ${module}`], { timeout: 15000 });
    if (probe.status !== 0) return `'${command}' cannot import ${module}`;
  }
  return undefined;
}

export async function offerInstallHelp(reason: string): Promise<void> {
  const choice = await vscode.window.showErrorMessage(
    `Yui: ${reason}. Install the yui-lsp server or set "yui.server.command".`,
    "How to install",
    "Open Settings",
  );
  if (choice === "How to install") {
    const doc = await vscode.workspace.openTextDocument({ content: INSTALL_HELP, language: "markdown" });
    await vscode.window.showTextDocument(doc);
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
    agents: config.get<Record<string, unknown>>("agents"),
    // null/empty: the project's [tool.yui] decides (the server ignores null values).
    executor: config.get<string | null>("executor") || null,
    rayAddress: config.get<string | null>("rayAddress") || null,
    ...(Object.keys(model).length > 0 ? { yui: model } : {}),
  };
}

/** A client for the configured server, or undefined (after telling the user) when missing. */
export function createClient(log: vscode.OutputChannel): LanguageClient | undefined {
  const configured = vscode.workspace.getConfiguration("yui").get<string[]>("server.command");
  const { command, args } = serverCommand(configured, onPath);
  const reason = missingServer(command, args);
  if (reason) {
    log.appendLine(`yui: ${reason}`);
    void offerInstallHelp(reason);
    return undefined;
  }
  const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const serverOptions: ServerOptions = { command, args, transport: TransportKind.stdio, options: { cwd } };
  const clientOptions: LanguageClientOptions = {
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
  return new LanguageClient("yui", "yui-lsp", serverOptions, clientOptions);
}

/** Run one `yui.*` server command with its single camelCase argument object. */
export async function runServerCommand<T>(
  client: LanguageClient | undefined,
  command: string,
  args: Record<string, unknown> = {},
): Promise<T> {
  if (!client || !client.isRunning()) {
    throw new Error("the yui-lsp server is not running (see the yui-lsp output channel)");
  }
  return (await client.sendRequest(ExecuteCommandRequest.type, {
    command,
    arguments: [args],
  })) as T;
}
