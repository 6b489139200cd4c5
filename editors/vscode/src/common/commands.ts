/**
 * The extension's commands and the client side of the server's commands.
 *
 * Palette commands (package.json): Explain Selection, Refactor Selection…, Chat…, Show
 * Context, Reindex, Show Status, Set API Key, Clear API Key, Restart Server, Show Log.
 *
 * Server commands run by VS Code itself (a code action resolved to `minimax.explain`,
 * `minimax.refactor`, `minimax.chat`) pass through `runServerCommand` too (the language
 * client's `executeCommand` middleware), so an answer always lands in a panel and a
 * refactor always reports whether it was applied:
 * - `minimax.explain` / `minimax.chat`: the answer streams into a panel
 *   (`minimax/streamDelta`), then the final `{markdown}` replaces it;
 * - `minimax.refactor`: without an `instruction` (the "Refactor…" code action) the user
 *   is asked for one; the server applies one versioned `WorkspaceEdit` through
 *   `workspace/applyEdit` (one undo step) and answers `{applied}`.
 */

import type * as vscode from 'vscode';

import { COMMANDS, SECRET_API_KEY, SERVER_COMMANDS } from './constants';
import type { Logger } from './log/logging';
import { AnswerPanel, PanelRegistry, type Turn } from './panel';
import type { ServerController } from './server';
import type { Severity } from './settings';
import { type StreamDelta, StreamRouter } from './streams';
import { manifestMarkdown, statusMarkdown } from './views';
import { activeTextEditor, registerCommand, showInputBox, withProgress } from './vscodeapi';

/** What the commands need from the extension. */
export interface CommandHost {
  readonly controller: ServerController;
  readonly log: Logger;
  readonly channel: vscode.LogOutputChannel;
  readonly secrets: vscode.SecretStorage;
  /** Show a message if `minimax.showNotifications` allows its severity. */
  notify(severity: Severity, message: string): void;
}

/** Human names of server commands, for messages. */
const COMMAND_NAMES: Record<string, string> = {
  [SERVER_COMMANDS.explain]: 'Explain',
  [SERVER_COMMANDS.refactor]: 'Refactor',
  [SERVER_COMMANDS.chat]: 'Chat',
  [SERVER_COMMANDS.showContext]: 'Show Context',
  [SERVER_COMMANDS.reindex]: 'Reindex',
  [SERVER_COMMANDS.status]: 'Status',
};

/** A `{uri, range}` argument in LSP terms (0-based lines, UTF-16 characters). */
function location(editor: vscode.TextEditor, wholeLineIfEmpty: boolean): { uri: string; range: object } {
  let selection: vscode.Range = editor.selection;
  if (selection.isEmpty && wholeLineIfEmpty) {
    selection = editor.document.lineAt(editor.selection.active.line).range;
  }
  return {
    uri: editor.document.uri.toString(),
    range: {
      start: { line: selection.start.line, character: selection.start.character },
      end: { line: selection.end.line, character: selection.end.character },
    },
  };
}

function describe(args: unknown): string {
  const a = (args ?? {}) as { uri?: unknown; range?: { start?: { line?: unknown }; end?: { line?: unknown } } };
  if (typeof a.uri !== 'string') {
    return '';
  }
  const name = decodeURIComponent(a.uri.split('/').pop() ?? a.uri);
  const start = Number(a.range?.start?.line);
  let end = Number(a.range?.end?.line);
  // A selection ending at column 0 stops before that line (as the server reads it).
  if (end > start && Number((a.range?.end as { character?: unknown } | undefined)?.character) === 0) {
    end -= 1;
  }
  if (!Number.isFinite(start)) {
    return name;
  }
  return start === end || !Number.isFinite(end) ? `${name}:${start + 1}` : `${name}:${start + 1}-${end + 1}`;
}

/** The message of a failed request (JSON-RPC errors carry the server's one-liner). */
function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Commands implements vscode.Disposable {
  readonly router = new StreamRouter();
  private readonly panels = new PanelRegistry();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly host: CommandHost) {}

  /** Register the palette commands. */
  register(): vscode.Disposable[] {
    const add = (id: string, run: (...args: unknown[]) => unknown): void => {
      this.disposables.push(
        registerCommand(id, async (...args: unknown[]) => {
          try {
            return await run(...args);
          } catch (error) {
            this.host.log.error(`${id}: ${errorText(error)}`);
            this.host.notify('error', `MiniMax: ${errorText(error)}`);
            return undefined;
          }
        }),
      );
    };
    add(COMMANDS.explainSelection, () => this.explainSelection());
    add(COMMANDS.refactorSelection, () => this.refactorSelection());
    add(COMMANDS.chat, (prompt?: unknown) => this.chat(typeof prompt === 'string' ? prompt : undefined));
    add(COMMANDS.showContext, (task?: unknown) => this.showContext(typeof task === 'string' ? task : undefined));
    add(COMMANDS.reindex, () => this.reindex());
    add(COMMANDS.showStatus, () => this.showStatus());
    add(COMMANDS.setApiKey, (value?: unknown) => this.setApiKey(typeof value === 'string' ? value : undefined));
    add(COMMANDS.clearApiKey, () => this.clearApiKey());
    add(COMMANDS.restart, () => this.host.controller.restart('restart command', true));
    add(COMMANDS.showLog, () => this.host.channel.show(true));
    return this.disposables;
  }

  /** Route one `minimax/streamDelta`. */
  onStreamDelta(delta: StreamDelta): void {
    if (!this.router.deliver(delta)) {
      this.host.log.debug(`stream delta for an unknown request ${String(delta.requestId)} dropped`);
    }
  }

  /**
   * Run a server command with its client-side presentation (see the module docstring).
   * `next` sends it the language client's way (used for commands with no UI here).
   */
  async runServerCommand(
    command: string,
    args: unknown[],
    next?: (command: string, args: unknown[]) => Promise<unknown>,
  ): Promise<unknown> {
    switch (command) {
      case SERVER_COMMANDS.explain:
        return this.explain(args);
      case SERVER_COMMANDS.chat:
        return this.ask(args, undefined);
      case SERVER_COMMANDS.refactor:
        return this.refactor(args);
      default:
        return next ? next(command, args) : this.host.controller.executeCommand(command, args);
    }
  }

  /** Wait out a (re)start in progress, then check the server can run `command`. */
  private async requireServer(command: string): Promise<void> {
    const controller = this.host.controller;
    if (!controller.running) {
      await controller.settled();
    }
    if (!controller.running) {
      throw new Error('the language server is not running. See "MiniMax: Show Log".');
    }
    if (!controller.supports(command)) {
      throw new Error(`this version of the language server has no ${COMMAND_NAMES[command] ?? command} command (${command}).`);
    }
  }

  private requireEditor(): vscode.TextEditor {
    const editor = activeTextEditor();
    if (!editor) {
      throw new Error('open a file first.');
    }
    return editor;
  }

  // ------------------------------------------------------------------ streamed answers

  /** Send a streaming command and write its answer into `turn`. */
  private async stream(command: string, args: unknown[], turn: Turn): Promise<{ markdown?: unknown; conversationId?: unknown } | undefined> {
    const controller = this.host.controller;
    // Our requestId (the server echoes it in every delta and the result) routes deltas
    // that arrive before the result.
    const requestId = controller.newRequestId();
    const options = { ...((args[0] ?? {}) as Record<string, unknown>), requestId };
    const handle = this.router.open({ onText: (t) => turn.appendText(t), onThinking: (t) => turn.appendThinking(t) }, requestId);
    try {
      const result = (await controller.executeCommand(command, [options], turn.cancelled)) as
        | { markdown?: unknown; conversationId?: unknown }
        | undefined;
      turn.finish(typeof result?.markdown === 'string' ? result.markdown : '');
      return result;
    } catch (error) {
      if (turn.cancelled.isCancellationRequested) {
        return undefined;
      }
      this.host.log.warn(`${command} failed: ${errorText(error)}`);
      turn.fail(`MiniMax: ${errorText(error)}`);
      throw error;
    } finally {
      this.router.close(handle);
    }
  }

  private async explain(args: unknown[]): Promise<unknown> {
    await this.requireServer(SERVER_COMMANDS.explain);
    const panel = this.panels.get('explain', 'MiniMax: Explain');
    const turn = panel.startTurn(`Explain ${describe(args[0])}`.trim(), true);
    return this.stream(SERVER_COMMANDS.explain, args, turn);
  }

  private async ask(args: unknown[], existing: AnswerPanel | undefined): Promise<unknown> {
    await this.requireServer(SERVER_COMMANDS.chat);
    const options = { ...((args[0] ?? {}) as Record<string, unknown>) };
    const panel = existing ?? AnswerPanel.create('chat', 'MiniMax: Chat', (prompt, p) => this.followUp(prompt, p));
    if (panel.conversationId && options.conversationId === undefined) {
      options.conversationId = panel.conversationId;
    }
    const title = typeof options.prompt === 'string' ? options.prompt : 'Chat';
    const result = await this.stream(SERVER_COMMANDS.chat, [options], panel.startTurn(title, false));
    if (typeof result?.conversationId === 'string') {
      panel.conversationId = result.conversationId;
    }
    return result;
  }

  private followUp(prompt: string, panel: AnswerPanel): void {
    this.ask([{ prompt }], panel).catch((error: unknown) => this.host.notify('error', `MiniMax: ${errorText(error)}`));
  }

  /**
   * `codeAction/resolve` of our edit actions: the "Refactor…" action (data kind
   * `refactor`, no instruction yet) first asks what to change. Escape cancels: the action
   * comes back without an edit, so nothing happens.
   */
  async resolveCodeAction(
    item: vscode.CodeAction,
    token: vscode.CancellationToken,
    next: (item: vscode.CodeAction, token: vscode.CancellationToken) => Promise<vscode.CodeAction | undefined>,
  ): Promise<vscode.CodeAction | undefined> {
    const holder = item as vscode.CodeAction & { data?: unknown };
    const data = holder.data as Record<string, unknown> | undefined;
    if (data && data.kind === 'refactor' && data.instruction === undefined && item.title.startsWith('MiniMax')) {
      const instruction = await this.askInstruction();
      if (instruction === undefined) {
        return item;
      }
      holder.data = { ...data, instruction };
    }
    return next(item, token);
  }

  /** The refactor instruction: a string (empty = let MiniMax choose), or undefined if cancelled. */
  private async askInstruction(): Promise<string | undefined> {
    const instruction = await showInputBox({
      title: 'MiniMax: Refactor',
      prompt: 'How should the selection change? (empty: let MiniMax improve it)',
      placeHolder: 'e.g. use a dataclass, add type hints, extract a function',
      ignoreFocusOut: true,
    });
    return instruction === undefined ? undefined : instruction.trim();
  }

  private async refactor(args: unknown[]): Promise<unknown> {
    await this.requireServer(SERVER_COMMANDS.refactor);
    const options = { ...((args[0] ?? {}) as Record<string, unknown>) };
    if (options.instruction === undefined && (options.kind === undefined || options.kind === 'refactor')) {
      const instruction = await this.askInstruction();
      if (instruction === undefined) {
        return undefined; // cancelled
      }
      options.instruction = instruction;
    }
    const result = (await withProgress('MiniMax: refactoring…', () =>
      this.host.controller.executeCommand(SERVER_COMMANDS.refactor, [options]),
    )) as { applied?: unknown } | undefined;
    if (result?.applied === true) {
      this.host.log.info(`refactor applied to ${describe(options)}`);
    } else {
      const reason = typeof (result as { reason?: unknown } | undefined)?.reason === 'string' ? (result as { reason: string }).reason : 'the edit was rejected';
      this.host.notify('warning', `MiniMax: the refactor was not applied (${reason}).`);
    }
    return result;
  }

  // ------------------------------------------------------------------ palette commands

  private async explainSelection(): Promise<unknown> {
    const editor = this.requireEditor();
    return this.explain([location(editor, true)]);
  }

  private async refactorSelection(): Promise<unknown> {
    const editor = this.requireEditor();
    return this.refactor([location(editor, true)]);
  }

  private async chat(prompt: string | undefined): Promise<unknown> {
    await this.requireServer(SERVER_COMMANDS.chat);
    const question =
      prompt ??
      (await showInputBox({
        title: 'MiniMax: Chat',
        prompt: 'Ask about this repository (the selection, if any, is included)',
        ignoreFocusOut: true,
      }));
    if (!question?.trim()) {
      return undefined;
    }
    const editor = activeTextEditor();
    const options: Record<string, unknown> = { prompt: question.trim() };
    if (editor) {
      const where = location(editor, false);
      options.uri = where.uri;
      if (!editor.selection.isEmpty) {
        options.range = where.range;
      }
    }
    return this.ask([options], undefined);
  }

  private async showContext(task: string | undefined): Promise<unknown> {
    await this.requireServer(SERVER_COMMANDS.showContext);
    const editor = this.requireEditor();
    const position = editor.selection.active;
    const result = await this.host.controller.executeCommand(SERVER_COMMANDS.showContext, [
      {
        uri: editor.document.uri.toString(),
        position: { line: position.line, character: position.character },
        task: task ?? 'complete',
      },
    ]);
    this.panels.get('context', 'MiniMax: Context').showMarkdown(manifestMarkdown(result));
    return result;
  }

  private async reindex(): Promise<unknown> {
    await this.requireServer(SERVER_COMMANDS.reindex);
    const result = (await this.host.controller.executeCommand(SERVER_COMMANDS.reindex, [])) as
      | { started?: unknown; workspaces?: unknown[]; reason?: unknown }
      | undefined;
    if (result?.started === true) {
      const count = Array.isArray(result.workspaces) ? result.workspaces.length : 0;
      this.host.notify('info', `MiniMax: reindexing ${count} folder${count === 1 ? '' : 's'}.`);
    } else {
      this.host.notify('warning', `MiniMax: nothing to reindex (${typeof result?.reason === 'string' ? result.reason : 'unknown reason'}).`);
    }
    return result;
  }

  private async showStatus(): Promise<unknown> {
    await this.requireServer(SERVER_COMMANDS.status);
    const uri = activeTextEditor()?.document.uri.toString();
    const result = await this.host.controller.executeCommand(SERVER_COMMANDS.status, uri ? [{ uri }] : []);
    this.panels.get('status', 'MiniMax: Status').showMarkdown(statusMarkdown(result));
    return result;
  }

  private async setApiKey(value: string | undefined): Promise<void> {
    const key =
      value ??
      (await showInputBox({
        title: 'MiniMax: Set API Key',
        prompt: 'Your MiniMax API key. It is kept in VS Code\'s secret storage and given only to the language server process.',
        password: true,
        ignoreFocusOut: true,
        validateInput: (text) => (/\s/.test(text.trim()) ? 'An API key has no spaces.' : undefined),
      }));
    if (!key?.trim()) {
      return;
    }
    await this.host.secrets.store(SECRET_API_KEY, key.trim());
    this.host.log.info('API key stored in secret storage; restarting the server');
    await this.host.controller.restart('API key set');
  }

  private async clearApiKey(): Promise<void> {
    await this.host.secrets.delete(SECRET_API_KEY);
    this.host.log.info('API key removed from secret storage; restarting the server');
    await this.host.controller.restart('API key cleared');
    this.host.notify('info', 'MiniMax: API key removed.');
  }

  dispose(): void {
    this.panels.dispose();
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
