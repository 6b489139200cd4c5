/**
 * The answer panel: a webview that shows explanations, chat conversations, the context
 * manifest and the status report as rendered markdown, streaming as deltas arrive.
 *
 * Safety: the HTML comes from `render.ts` (everything escaped, a fixed set of tags);
 * the webview's Content-Security-Policy is `default-src 'none'` with a per-panel nonce
 * for the one inline style sheet and the one inline script, no local resource roots
 * and no remote anything. The script only swaps in the HTML the extension posts and,
 * in chat panels, posts follow-up questions back.
 *
 * One panel per kind (explain, context, status) is reused; every chat conversation gets
 * its own panel, since follow-ups continue that panel's conversation.
 */

import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

import { type AnswerView, escapeHtml, renderAnswer, renderMarkdown } from './render';

/** Minimum milliseconds between two re-renders while text streams in. */
const RENDER_INTERVAL_MS = 50;

/** What a chat panel does with a follow-up question typed into it. */
export type AskHandler = (prompt: string, panel: AnswerPanel) => void;

/** A turn being written: the caller feeds it deltas, then the final text or an error. */
export interface Turn {
  appendText(text: string): void;
  appendThinking(text: string): void;
  /** The final answer (authoritative: replaces what was streamed). */
  finish(markdown: string): void;
  fail(message: string): void;
  /** Fires when the user closed the panel while this turn was streaming. */
  readonly cancelled: vscode.CancellationToken;
}

export class AnswerPanel {
  private readonly turns: AnswerView[] = [];
  private staticMarkdown: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly nonce = randomBytes(16).toString('base64');
  private readonly cancel = new vscode.CancellationTokenSource();
  private disposed = false;
  /** Conversation id of a chat panel (set by the first answer). */
  conversationId: string | undefined;

  private constructor(
    readonly kind: string,
    private readonly panel: vscode.WebviewPanel,
    private readonly onAsk: AskHandler | undefined,
  ) {
    panel.webview.html = this.html();
    panel.webview.onDidReceiveMessage((message: unknown) => this.received(message));
    panel.onDidDispose(() => {
      this.disposed = true;
      this.cancel.cancel();
      this.cancel.dispose();
      if (this.timer) {
        clearTimeout(this.timer);
      }
    });
  }

  /** Open a new panel beside the editor. */
  static create(kind: string, title: string, onAsk?: AskHandler): AnswerPanel {
    const panel = vscode.window.createWebviewPanel(
      `minimax.${kind}`,
      title,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: kind !== 'chat' },
      { enableScripts: true, enableCommandUris: false, localResourceRoots: [], retainContextWhenHidden: false },
    );
    return new AnswerPanel(kind, panel, onAsk);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  onDidDispose(listener: () => void): vscode.Disposable {
    return this.panel.onDidDispose(listener);
  }

  reveal(): void {
    this.panel.reveal(undefined, this.kind !== 'chat');
  }

  /** Replace the whole content by a static markdown document (context, status). */
  showMarkdown(markdown: string): void {
    this.turns.length = 0;
    this.staticMarkdown = markdown;
    this.flush();
  }

  /** Start a new turn (`replace`: drop the earlier ones, as the explain panel does). */
  startTurn(title: string, replace: boolean): Turn {
    if (replace) {
      this.turns.length = 0;
    }
    this.staticMarkdown = undefined;
    const index = this.turns.push({ title, text: '', thinking: '', state: 'streaming' }) - 1;
    const update = (change: Partial<AnswerView>, now = false): void => {
      this.turns[index] = { ...this.turns[index], ...change };
      if (now) {
        this.flush();
      } else {
        this.schedule();
      }
    };
    this.flush();
    return {
      appendText: (text) => update({ text: this.turns[index].text + text }),
      appendThinking: (text) => update({ thinking: this.turns[index].thinking + text }),
      finish: (markdown) => update({ text: markdown || this.turns[index].text, state: 'done' }, true),
      fail: (message) => update({ state: 'error', error: message }, true),
      cancelled: this.cancel.token,
    };
  }

  private schedule(): void {
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), RENDER_INTERVAL_MS);
    }
  }

  private body(): string {
    if (this.staticMarkdown !== undefined) {
      return renderMarkdown(this.staticMarkdown);
    }
    return this.turns.map(renderAnswer).join('\n');
  }

  private busy(): boolean {
    return this.turns.some((t) => t.state === 'streaming');
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.disposed) {
      void this.panel.webview.postMessage({ type: 'render', html: this.body(), busy: this.busy() });
    }
  }

  private received(message: unknown): void {
    const m = message as { type?: unknown; prompt?: unknown };
    if (m.type === 'ready') {
      this.flush(); // the webview (re)loaded: give it the current content
    } else if (m.type === 'ask' && typeof m.prompt === 'string' && m.prompt.trim() && this.onAsk) {
      this.onAsk(m.prompt.trim(), this);
    }
  }

  private html(): string {
    const nonce = this.nonce;
    const csp = [
      "default-src 'none'",
      `style-src 'nonce-${nonce}'`,
      `script-src 'nonce-${nonce}'`,
      "img-src 'none'",
      "font-src 'none'",
      "connect-src 'none'",
      "form-action 'none'",
      "frame-src 'none'",
    ].join('; ');
    const form = this.onAsk
      ? `<form id="ask"><textarea id="prompt" rows="3" placeholder="Ask a follow-up (Enter to send, Shift+Enter for a new line)"></textarea><button type="submit">Ask</button></form>`
      : '';
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<style nonce="${nonce}">
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 16px 16px; line-height: 1.5; }
  pre { background: var(--vscode-textCodeBlock-background); padding: 8px; overflow-x: auto; }
  code { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
  table { border-collapse: collapse; margin: 8px 0; }
  th, td { border: 1px solid var(--vscode-panel-border, #8884); padding: 2px 8px; text-align: left; vertical-align: top; }
  .align-right { text-align: right; } .align-center { text-align: center; }
  blockquote { border-left: 3px solid var(--vscode-textBlockQuote-border); margin: 0; padding-left: 8px; }
  .question { font-size: 1.1em; border-bottom: 1px solid var(--vscode-panel-border, #8884); }
  .thinking { opacity: 0.7; } .thinking pre { white-space: pre-wrap; }
  .status { opacity: 0.8; font-style: italic; } .status.error { color: var(--vscode-errorForeground); font-style: normal; }
  .spinner { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 6px; border: 2px solid currentColor; border-right-color: transparent; border-radius: 50%; animation: spin 0.8s linear infinite; }
  @keyframes spin { to { transform: rotate(360deg); } }
  #ask { display: flex; gap: 8px; margin-top: 16px; }
  #ask textarea { flex: 1; font-family: inherit; color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); }
  #ask button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 4px 12px; }
</style>
</head>
<body>
<main id="content" aria-live="polite">${this.body()}</main>
${form}
<script nonce="${nonce}">
(function () {
  const vscode = acquireVsCodeApi();
  const content = document.getElementById('content');
  const form = document.getElementById('ask');
  const prompt = document.getElementById('prompt');
  window.addEventListener('message', (event) => {
    const message = event.data;
    if (!message || message.type !== 'render') { return; }
    const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    content.innerHTML = message.html;
    document.body.dataset.busy = message.busy ? 'true' : 'false';
    if (form) { form.querySelector('button').disabled = !!message.busy; }
    if (atBottom) { window.scrollTo(0, document.body.scrollHeight); }
  });
  if (form) {
    const send = () => {
      const text = prompt.value.trim();
      if (!text || document.body.dataset.busy === 'true') { return; }
      vscode.postMessage({ type: 'ask', prompt: text });
      prompt.value = '';
    };
    form.addEventListener('submit', (event) => { event.preventDefault(); send(); });
    prompt.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); send(); }
    });
  }
  vscode.postMessage({ type: 'ready' });
}());
</script>
</body>
</html>`;
  }
}

/** Reusable panels by kind (explain, context, status); chat panels are never reused. */
export class PanelRegistry implements vscode.Disposable {
  private readonly panels = new Map<string, AnswerPanel>();

  /** The open panel of `kind`, revealed; or a new one. */
  get(kind: string, title: string): AnswerPanel {
    const existing = this.panels.get(kind);
    if (existing && !existing.isDisposed) {
      existing.reveal();
      return existing;
    }
    const panel = AnswerPanel.create(kind, title);
    this.panels.set(kind, panel);
    panel.onDidDispose(() => {
      if (this.panels.get(kind) === panel) {
        this.panels.delete(kind);
      }
    });
    return panel;
  }

  dispose(): void {
    this.panels.clear();
  }
}
