// The status-bar item: the server's state while it is not running, else the task counts.
import * as vscode from "vscode";
import { Counts, statusText } from "./model";

export class StatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("yui.status", vscode.StatusBarAlignment.Left, 50);

  constructor() {
    this.item.name = "Yui tasks";
    this.item.command = "yui-lsp.showTasks";
  }

  server(text: string, tooltip: string): void {
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.show();
  }

  tasks(c: Counts): void {
    this.item.text = statusText(c);
    this.item.tooltip = `yui: ${c.running} running, ${c.queued} queued, ${c.review} to review, ` +
      `${c.failed} failed, ${c.completed} completed — click to show the tasks`;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
