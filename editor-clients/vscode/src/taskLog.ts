// A task's own output (the agent's stdout/stderr lines, tool calls) as a read-only virtual
// document, live while the task runs and kept after it ends.
import * as vscode from "vscode";
import { displayName, TaskView } from "./model";

export const LOG_SCHEME = "yui-log";

/** One output line as shown: stderr lines are marked. */
export function logText(stream: string | undefined, line: string): string {
  return stream === "stderr" ? `[stderr] ${line}` : line;
}

export class TaskLogs implements vscode.TextDocumentContentProvider {
  private readonly lines = new Map<string, string[]>();
  /** Tasks whose history was fetched from the server (later lines come by notification). */
  private readonly fetched = new Set<string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly uris = new Map<string, vscode.Uri>();

  /** The log document of a task: "Title (id).log", the id in the query. */
  uri(task: { id: string; title: string }): vscode.Uri {
    const known = this.uris.get(task.id);
    if (known) return known;
    const name = `${displayName(task)}`.replace(/[\\/]/g, "_");
    const uri = vscode.Uri.from({ scheme: LOG_SCHEME, path: `/${name} (${task.id}).log`, query: task.id });
    this.uris.set(task.id, uri);
    return uri;
  }

  /** Append lines that arrived by notification. */
  append(taskId: string, lines: string[]): void {
    const known = this.lines.get(taskId) ?? [];
    known.push(...lines);
    this.lines.set(taskId, known);
    const uri = this.uris.get(taskId);
    if (uri) this.changed.fire(uri);
  }

  /** Replace what is known with the server's full history (the first time a log is shown). */
  setHistory(taskId: string, lines: string[]): void {
    this.fetched.add(taskId);
    // Lines heard by notification before the history answer are part of it.
    this.lines.set(taskId, lines);
    const uri = this.uris.get(taskId);
    if (uri) this.changed.fire(uri);
  }

  /** The followed task ended: a re-run's lines come by notification again, and showing the
   * log fetches its history anew. */
  ended(taskId: string): void {
    this.fetched.delete(taskId);
  }

  hasHistory(taskId: string): boolean {
    return this.fetched.has(taskId);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const lines = this.lines.get(uri.query) ?? [];
    return lines.length > 0 ? lines.join("\n") + "\n" : "(no output yet)\n";
  }

  async show(task: TaskView): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(this.uri(task));
    await vscode.window.showTextDocument(doc, { preview: false });
  }
}
