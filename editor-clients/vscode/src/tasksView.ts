// The "Yui Tasks" tree: one item per task (state, agent, progress), its touched files below.
import * as vscode from "vscode";
import { displayName, TaskTable, TaskView, taskDescription, ACTIVE, WAITING } from "./model";

const ICONS: Record<string, [string, string?]> = {
  pending: ["circle-outline"],
  blocked: ["debug-pause"],
  queued: ["clock"],
  acquiring: ["lock"],
  running: ["sync~spin", "charts.blue"],
  integrating: ["git-merge", "charts.blue"],
  completed: ["pass", "testing.iconPassed"],
  failed: ["error", "testing.iconFailed"],
  cancelled: ["circle-slash"],
  conflict: ["warning", "list.warningForeground"],
};

type Node = { kind: "task"; task: TaskView } | { kind: "file"; task: TaskView; path: string };

/** contextValue drives the inline actions declared in package.json. */
export function contextValue(task: TaskView): string {
  if (ACTIVE.has(task.status) || WAITING.has(task.status)) return "yuiTask.open";
  if (task.status === "completed") return "yuiTask.completed";
  return "yuiTask.retryable";
}

export class TasksView implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly tasks: TaskTable) {}

  refresh(): void {
    this.changed.fire();
  }

  getChildren(node?: Node): Node[] {
    if (!node) return this.tasks.all().map((task) => ({ kind: "task", task }));
    if (node.kind === "task") {
      return node.task.files.map((path) => ({ kind: "file", task: node.task, path }));
    }
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === "file") {
      const folder = vscode.workspace.workspaceFolders?.[0];
      const uri = folder ? vscode.Uri.joinPath(folder.uri, node.path) : vscode.Uri.file(node.path);
      const item = new vscode.TreeItem(uri, vscode.TreeItemCollapsibleState.None);
      item.command = { command: "vscode.open", title: "Open", arguments: [uri] };
      return item;
    }
    const task = node.task;
    const item = new vscode.TreeItem(
      displayName(task),
      task.files.length > 0
        ? vscode.TreeItemCollapsibleState.Collapsed
        : vscode.TreeItemCollapsibleState.None,
    );
    item.id = task.id;
    item.description = taskDescription(task);
    const [icon, color] = ICONS[task.status] ?? ["question"];
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    item.contextValue = contextValue(task);
    const tip = new vscode.MarkdownString(`**${displayName(task)}** \`${task.id}\`\n\n`);
    tip.appendMarkdown(`${task.status} · ${task.agent} · ${Math.round(task.progress * 100)}%\n\n`);
    if (task.error) tip.appendMarkdown(`Error: ${task.error}\n\n`);
    else if (task.message) tip.appendMarkdown(`${task.message}\n\n`);
    if (task.files.length > 0) tip.appendMarkdown(`Files: ${task.files.join(", ")}`);
    item.tooltip = tip;
    return item;
  }
}
