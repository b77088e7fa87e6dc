// Explorer badges on leased files: "L" plus a tooltip naming the task and since when.
import * as vscode from "vscode";
import { LeaseTable, leaseTooltip } from "./model";

export class LeaseDecorations implements vscode.FileDecorationProvider {
  private readonly changed = new vscode.EventEmitter<undefined>();
  readonly onDidChangeFileDecorations = this.changed.event;

  constructor(private readonly leases: LeaseTable) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== "file") return undefined;
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (!folder) return undefined;
    const rel = vscode.workspace.asRelativePath(uri, false);
    const lease = this.leases.find(folder.uri.toString(), rel);
    if (!lease) return undefined;
    return new vscode.FileDecoration("L", leaseTooltip(lease), new vscode.ThemeColor("charts.yellow"));
  }
}
