// Show Diff: VS Code's diff editor per changed file, what the workspace holds now on the left
// and the task's result (read-only) on the right, with Apply / Discard for that file.
import * as vscode from "vscode";
import { displayName, field, TaskView } from "./model";

export const RESULT_SCHEME = "yui-result";

/** One changed file of a held result, as `yui.showDiff` answers it. */
export interface FileDiff {
  path: string;
  uri: string;
  /** What the workspace holds now; undefined for a file the task creates. */
  current?: string;
  /** The task's version; undefined for a file the task deletes. */
  result?: string;
}

export function fileDiffFromWire(raw: Record<string, unknown>): FileDiff {
  return {
    path: field<string>(raw, "path") ?? "",
    uri: field<string>(raw, "uri") ?? "",
    current: field<string>(raw, "current"),
    result: field<string>(raw, "result"),
  };
}

/** The task's side of each diff: a read-only document per (task, file). */
export class ResultDocuments implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  /** yui-result:/<path>?task=<id>&side=result|current */
  uri(taskId: string, path: string, side: "result" | "current"): vscode.Uri {
    return vscode.Uri.from({
      scheme: RESULT_SCHEME, path: `/${path}`,
      query: new URLSearchParams({ task: taskId, side }).toString(),
    });
  }

  put(uri: vscode.Uri, text: string): void {
    this.texts.set(uri.toString(), text);
    this.changed.fire(uri);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? "";
  }
}

/** Which task and file a `yui-result:` document shows. */
export function resultTarget(uri: vscode.Uri): { taskId: string; path: string } | undefined {
  if (uri.scheme !== RESULT_SCHEME) return undefined;
  const query = new URLSearchParams(uri.query);
  const taskId = query.get("task");
  return taskId ? { taskId, path: uri.path.replace(/^\//, "") } : undefined;
}

/** Open the diff editor of one file of a task's result. */
export async function openFileDiff(results: ResultDocuments, task: TaskView, file: FileDiff): Promise<void> {
  const right = results.uri(task.id, file.path, "result");
  results.put(right, file.result ?? "");
  let left: vscode.Uri;
  if (file.current === undefined) {
    // A file the task creates: nothing on the left.
    left = results.uri(task.id, file.path, "current");
    results.put(left, "");
  } else {
    left = file.uri ? vscode.Uri.parse(file.uri) : workspaceUri(file.path);
  }
  const what = file.current === undefined ? " (new file)" : file.result === undefined ? " (deleted)" : "";
  const title = `${file.path}${what}: workspace ↔ '${displayName(task)}'`;
  await vscode.commands.executeCommand("vscode.diff", left, right, title, { preview: false });
}

export function workspaceUri(rel: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder ? vscode.Uri.joinPath(folder.uri, rel) : vscode.Uri.file(rel);
}
