/**
 * The status bar item: the client's state, the server's overall `minimax/status`
 * (indexing progress, ready, no key, offline, spend limit, error) with usage in the
 * tooltip, and `inactive` when the active file is one MiniMax never sends.
 * The text itself comes from the pure `statusBarView` (views.ts).
 */

import * as vscode from 'vscode';

import { type ClientState, type ServerStatus, statusBarView } from './views';
import { activeTextEditor, createStatusBarItem, onDidChangeActiveTextEditor } from './vscodeapi';

/** Most documents the per-file statuses remember (they are cleared on restart anyway). */
const MAX_DOCUMENT_STATUSES = 500;

export class StatusBar implements vscode.Disposable {
  private readonly item = createStatusBarItem('minimax.status', 100);
  private readonly disposables: vscode.Disposable[] = [];
  private client: ClientState = 'starting';
  private overall: ServerStatus | undefined;
  private readonly documents = new Map<string, ServerStatus>();

  constructor() {
    this.item.name = 'MiniMax';
    this.disposables.push(this.item, onDidChangeActiveTextEditor(() => this.render()));
    this.render();
    this.item.show();
  }

  /** The latest overall status (for the status command when the server is slow). */
  get lastStatus(): ServerStatus | undefined {
    return this.overall;
  }

  setClientState(state: ClientState): void {
    this.client = state;
    if (state !== 'running') {
      this.overall = undefined;
      this.documents.clear();
    }
    this.render();
  }

  /** Take one `minimax/status` notification. */
  update(status: ServerStatus): void {
    if (status.uri) {
      this.documents.delete(status.uri);
      if (this.documents.size >= MAX_DOCUMENT_STATUSES) {
        this.documents.delete(this.documents.keys().next().value as string);
      }
      this.documents.set(status.uri, status);
    } else {
      this.overall = status;
    }
    this.render();
  }

  private render(): void {
    const uri = activeTextEditor()?.document.uri.toString();
    const view = statusBarView(this.client, this.overall, uri ? this.documents.get(uri) : undefined);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.command = view.command;
    this.item.backgroundColor =
      view.severity === 'none' ? undefined : new vscode.ThemeColor(`statusBarItem.${view.severity}Background`);
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
