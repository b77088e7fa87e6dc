// The "Yui Tasks" tree: one item per task (state, agent, progress), its files below; in
// review a file opens its diff, otherwise the file itself.
import * as vscode from "vscode";
import { ACTIVE, WAITING, displayName, noChanges, TaskTable, TaskView, taskDescription } from "./model";

const ICONS: Record<string, [string, string?]> = {
  pending: ["circle-outline"],
  blocked: ["debug-pause"],
  queued: ["clock"],
  acquiring: ["lock"],
  running: ["sync~spin", "charts.blue"],
  integrating: ["git-merge", "charts.blue"],
  review: ["diff", "charts.yellow"],
  completed: ["pass", "testing.iconPassed"],
  failed: ["error", "testing.iconFailed"],
  cancelled: ["circle-slash"],
  conflict: ["warning", "list.warningForeground"],
};

export type TaskNode = { kind: "task"; task: TaskView } | { kind: "file"; task: TaskView; path: string };

/** contextValue drives the inline actions declared in package.json. */
export function contextValue(task: TaskView): string {
  if (task.status === "review") return "yuiTask.review";
  if (ACTIVE.has(task.status) || WAITING.has(task.status)) return "yuiTask.open";
  if (task.status === "conflict") return "yuiTask.conflict";
  if (task.status === "completed") return "yuiTask.completed";
  return "yuiTask.retryable";
}

function fileItem(task: TaskView, path: string): vscode.TreeItem {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const uri = folder ? vscode.Uri.joinPath(folder.uri, path) : vscode.Uri.file(path);
  const item = new vscode.TreeItem(uri, vscode.TreeItemCollapsibleState.None);
  item.id = `${task.id}\u0000${path}`;
  if (task.status === "review") {
    item.description = "show diff";
    item.contextValue = "yuiFile.review";
    item.command = { command: "yui-lsp.showFileDiff", title: "Show Diff", arguments: [{ task, path }] };
  } else {
    item.command = { command: "vscode.open", title: "Open", arguments: [uri] };
  }
  return item;
}

export class TasksView implements vscode.TreeDataProvider<TaskNode> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly tasks: TaskTable) {}

  refresh(): void {
    this.changed.fire();
  }

  getChildren(node?: TaskNode): TaskNode[] {
    if (!node) return this.tasks.all().map((task) => ({ kind: "task", task }));
    if (node.kind === "task") {
      // The newest state of the task: the node may be from before the last refresh.
      const task = this.tasks.get(node.task.id) ?? node.task;
      return task.files.map((path) => ({ kind: "file", task, path }));
    }
    return [];
  }

  getTreeItem(node: TaskNode): vscode.TreeItem {
    if (node.kind === "file") return fileItem(node.task, node.path);
    const task = node.task;
    const expand = task.status === "review" ? vscode.TreeItemCollapsibleState.Expanded
      : vscode.TreeItemCollapsibleState.Collapsed;
    const item = new vscode.TreeItem(displayName(task),
      task.files.length > 0 ? expand : vscode.TreeItemCollapsibleState.None);
    // The id changes with the state so a task entering review opens up expanded.
    item.id = `${task.id}\u0000${task.status === "review" ? "review" : "task"}`;
    item.description = noChanges(task) ? `no changes · ${task.agent}`
      : task.settled ? `conflict settled · ${task.agent}` : taskDescription(task);
    const [icon, color] = noChanges(task) ? ["circle-large-outline", "list.warningForeground"]
      : ICONS[task.status] ?? ["question"];
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    item.contextValue = task.settled ? "yuiTask.retryable" : contextValue(task);
    const tip = new vscode.MarkdownString(`**${displayName(task)}** \`${task.id}\`\n\n`);
    tip.appendMarkdown(`${task.status} · ${task.agent} · ${Math.round(task.progress * 100)}%\n\n`);
    if (noChanges(task)) tip.appendMarkdown("Completed without changing any file.\n\n");
    for (const line of task.agentErrors) tip.appendText(`${line}\n`);
    if (task.error) tip.appendMarkdown(`\n\nError: ${task.error}\n\n`);
    else if (task.message) tip.appendMarkdown(`\n\n${task.message}\n\n`);
    if (task.files.length > 0) tip.appendMarkdown(`Files: ${task.files.join(", ")}`);
    item.tooltip = tip;
    return item;
  }
}
