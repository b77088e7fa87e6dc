// The "Yui Specs" tree: each spec (Kiro, spec-kit) with its tasks and their live state, and
// the commands that run a spec or one of its tasks (the same as the server's code lenses).
import * as vscode from "vscode";
import { TaskTable } from "./model";
import {
  SpecRuns, SpecTaskWire, SpecWire, canRun, childrenOf, runOf, specDescription, specTaskState,
} from "./specModel";

const ICONS: Record<string, [string, string?]> = {
  done: ["pass-filled", "testing.iconPassed"],
  todo: ["circle-large-outline"],
  running: ["sync~spin", "charts.blue"],
  integrating: ["git-merge", "charts.blue"],
  failed: ["error", "testing.iconFailed"],
  conflict: ["warning", "list.warningForeground"],
};

/** What the view needs: the task table (for run states) and the server. */
interface Host {
  tasks: TaskTable;
  run<T>(command: string, args?: Record<string, unknown>): Promise<T>;
}

type Node = { kind: "spec"; spec: SpecWire } | { kind: "task"; spec: SpecWire; task: SpecTaskWire };

export class SpecsView implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private specs: SpecWire[] = [];
  readonly runs = new SpecRuns();

  constructor(private readonly host: Host) {}

  async reload(): Promise<void> {
    const listed = await this.host.run<{ specs?: SpecWire[] }>("yui.listSpecs");
    this.specs = listed.specs ?? [];
    this.changed.fire();
  }

  refresh(): void {
    this.changed.fire();
  }

  names(): string[] {
    return this.specs.map((s) => s.name);
  }

  getChildren(node?: Node): Node[] {
    if (!node) return this.specs.map((spec) => ({ kind: "spec", spec }));
    const parent = node.kind === "task" ? node.task.key : undefined;
    return childrenOf(node.spec, parent).map((task) => ({ kind: "task", spec: node.spec, task }));
  }

  private state(spec: SpecWire, task: SpecTaskWire): string {
    const recorded = this.runs.taskId(spec.name, task.key);
    return specTaskState(task, runOf(this.host.tasks.all(), spec.name, task.key, recorded));
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === "spec") {
      const item = new vscode.TreeItem(node.spec.name, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `spec:${node.spec.uri}`;
      item.description = specDescription(node.spec);
      item.iconPath = new vscode.ThemeIcon("checklist");
      item.contextValue = "yuiSpec";
      item.command = { command: "vscode.open", title: "Open", arguments: [vscode.Uri.parse(node.spec.uri)] };
      return item;
    }
    const { spec, task } = node;
    const hasChildren = childrenOf(spec, task.key).length > 0;
    const item = new vscode.TreeItem(`${task.key} ${task.title}`,
      hasChildren ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    item.id = `spec:${spec.uri}#${task.key}`;
    const state = this.state(spec, task);
    item.description = task.optional ? `${state} · optional` : state;
    const [icon, color] = ICONS[state] ?? ["clock"];
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    item.contextValue = canRun(state) ? "yuiSpecTask.runnable" : "yuiSpecTask";
    const at = new vscode.Range(task.line, 0, task.line, 0);
    item.command = {
      command: "vscode.open", title: "Open",
      arguments: [vscode.Uri.parse(spec.uri), { selection: at }],
    };
    return item;
  }

  /** Run a whole spec (from the tree, or picked from the list) or one of its tasks. */
  async run(node?: Node): Promise<void> {
    let spec = node?.spec;
    if (!spec) {
      await this.reload();
      const picked = await vscode.window.showQuickPick(
        this.specs.map((s) => ({ label: s.name, description: specDescription(s), spec: s })),
        { title: "Yui: run which spec?" });
      spec = picked?.spec;
    }
    if (!spec) return;
    const args: Record<string, unknown> = { spec: spec.uri };
    if (node?.kind === "task") {
      args.only = [node.task.key];
      args.includeOptional = node.task.optional ?? false;
    }
    const answer = await this.host.run<{ taskIds?: string[]; keys?: string[]; waves?: number }>(
      "yui.runSpec", args);
    this.runs.record(spec.name, answer.taskIds ?? [], answer.keys ?? []);
    const count = answer.taskIds?.length ?? 0;
    void vscode.window.showInformationMessage(count === 0
      ? `Yui: nothing left to run in ${spec.name}.`
      : `Yui: running ${count} tasks of ${spec.name} in ${answer.waves ?? 0} waves.`);
    this.refresh();
  }
}
