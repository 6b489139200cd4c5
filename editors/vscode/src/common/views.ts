/**
 * Pure views of server data: the status bar item, the context manifest as a table and
 * the `minimax.status` result as a report. Each returns plain data or markdown, which
 * the callers hand to VS Code or to the answer panel; unit tested without VS Code.
 *
 * Wire shapes (docs/protocol.md):
 * - `minimax/status`: `{state, message, files?, symbols?, uri?, usage?}`; `state` is one of
 *   `indexing | ready | error | inactive | spend-limit | offline | no-key`. Without `uri`
 *   it is the server's overall state; with `uri` it is about one document (`inactive` or
 *   back to `ready`).
 * - `minimax.showContext` result: `{task, budget, tokens, items: [{path, start_line,
 *   end_line, mode, tokens, reason}], uri, workspace, indexVersion}` or `{inactive: true,
 *   reason, uri, message}`.
 */

import { COMMANDS } from './constants';

/** Token usage as the server reports it. */
export interface Usage {
  readonly requests?: number;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly cacheReadTokens?: number;
  readonly cacheCreationTokens?: number;
  readonly cacheHitShare?: number;
}

/** One `minimax/status` payload. */
export interface ServerStatus {
  readonly state: string;
  readonly message: string;
  readonly files?: number;
  readonly symbols?: number;
  readonly uri?: string;
  readonly usage?: Usage;
}

/** The client's own condition, which frames the server's status. */
export type ClientState = 'starting' | 'running' | 'stopped' | 'failed';

/** What the status bar item shows. */
export interface StatusBarView {
  readonly text: string;
  readonly tooltip: string;
  readonly command: string;
  /** `error` / `warning` map to the theme's status bar background colours. */
  readonly severity: 'none' | 'warning' | 'error';
}

/** `1234` -> `1.2k`, `2500000` -> `2.5M`. */
export function compactNumber(value: number): string {
  if (value < 1000) {
    return String(Math.round(value));
  }
  if (value < 1_000_000) {
    return `${trimZero((value / 1000).toFixed(1))}k`;
  }
  return `${trimZero((value / 1_000_000).toFixed(1))}M`;
}

function trimZero(text: string): string {
  return text.endsWith('.0') ? text.slice(0, -2) : text;
}

/** A one-line usage summary, or `''` when nothing was used yet. */
export function usageSummary(usage: Usage | undefined): string {
  if (!usage || !usage.requests) {
    return '';
  }
  const tokens = (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0);
  const share = usage.cacheHitShare !== undefined ? `, ${Math.round(usage.cacheHitShare * 100)}% cached` : '';
  return `${usage.requests} request${usage.requests === 1 ? '' : 's'}, ${compactNumber(tokens)} tokens${share}`;
}

/**
 * The status bar item for the client's state, the server's overall status and the
 * status of the active document (if the server sent one).
 */
export function statusBarView(
  client: ClientState,
  overall: ServerStatus | undefined,
  document: ServerStatus | undefined,
): StatusBarView {
  const details = COMMANDS.showStatus;
  if (client === 'starting') {
    return { text: '$(loading~spin) MiniMax', tooltip: 'MiniMax: starting the language server…', command: COMMANDS.showLog, severity: 'none' };
  }
  if (client === 'failed') {
    return {
      text: '$(error) MiniMax',
      tooltip: 'MiniMax: the language server is not running. Click to see the log.',
      command: COMMANDS.showLog,
      severity: 'error',
    };
  }
  if (client === 'stopped') {
    return { text: '$(circle-slash) MiniMax', tooltip: 'MiniMax: stopped', command: COMMANDS.restart, severity: 'none' };
  }
  const usage = usageSummary(overall?.usage);
  const withUsage = (tooltip: string): string => (usage ? `${tooltip}\nUsage this session: ${usage}` : tooltip);
  if (document?.state === 'inactive') {
    return { text: '$(circle-slash) MiniMax: off', tooltip: withUsage(document.message), command: details, severity: 'none' };
  }
  if (!overall) {
    return { text: '$(loading~spin) MiniMax', tooltip: 'MiniMax: waiting for the server', command: COMMANDS.showLog, severity: 'none' };
  }
  switch (overall.state) {
    case 'indexing': {
      const progress = /(\d+)\s*\/\s*(\d+)/.exec(overall.message);
      const text = progress ? `$(sync~spin) MiniMax ${progress[1]}/${progress[2]}` : '$(sync~spin) MiniMax: indexing';
      return { text, tooltip: withUsage(overall.message), command: details, severity: 'none' };
    }
    case 'ready': {
      const tokens = overall.usage && overall.usage.requests ? ` ${compactNumber((overall.usage.inputTokens ?? 0) + (overall.usage.outputTokens ?? 0))}` : '';
      return { text: `$(sparkle) MiniMax${tokens}`, tooltip: withUsage(overall.message), command: details, severity: 'none' };
    }
    case 'no-key':
      return { text: '$(key) MiniMax: set key', tooltip: 'MiniMax: no API key. Click to set one (kept in VS Code\'s secret storage).', command: COMMANDS.setApiKey, severity: 'warning' };
    case 'spend-limit':
      return { text: '$(warning) MiniMax: limit', tooltip: withUsage(overall.message), command: details, severity: 'warning' };
    case 'offline':
      return { text: '$(cloud-offline) MiniMax: offline', tooltip: withUsage(overall.message), command: details, severity: 'warning' };
    default:
      return { text: '$(error) MiniMax', tooltip: withUsage(overall.message), command: details, severity: 'error' };
  }
}

/** Check the shape of a `minimax/status` notification's params. */
export function isServerStatus(value: unknown): value is ServerStatus {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const v = value as Record<string, unknown>;
  return typeof v.state === 'string' && typeof v.message === 'string' && (v.uri === undefined || typeof v.uri === 'string');
}

/** The server capabilities the extension cares about, as one log line. */
export function capabilitySummary(capabilities: Record<string, unknown> | undefined): string {
  const caps = capabilities ?? {};
  const has = (name: string): string => (caps[name] ? 'yes' : 'no');
  const commands = (caps.executeCommandProvider as { commands?: unknown } | undefined)?.commands;
  const list = Array.isArray(commands) ? commands.filter((c): c is string => typeof c === 'string').join(',') : '';
  return `inlineCompletion=${has('inlineCompletionProvider')} codeAction=${has('codeActionProvider')} completion=${has('completionProvider')} commands=${list || 'none'}`;
}

// --------------------------------------------------------------------------- tables

/** Text of a JSON value from the server (objects as JSON, nothing for null). */
function plain(value: unknown): string {
  if (value === undefined || value === null) {
    return '';
  }
  if (typeof value === 'string') {
    return value;
  }
  return typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ? String(value) : JSON.stringify(value) ?? '';
}

/** Escape text for a markdown table cell (pipes and line breaks). */
export function tableCell(value: unknown): string {
  const text = plain(value);
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** Escape inline markdown (for paths and messages outside tables). */
function inlineText(value: unknown): string {
  return plain(value).replace(/([\\`*_[\]])/g, '\\$1');
}

interface ManifestItem {
  path?: unknown;
  start_line?: unknown;
  end_line?: unknown;
  mode?: unknown;
  tokens?: unknown;
  reason?: unknown;
}

/** The `minimax.showContext` result as markdown: a summary line and one table row per span. */
export function manifestMarkdown(result: unknown): string {
  const data = (typeof result === 'object' && result !== null ? result : {}) as Record<string, unknown>;
  if (data.inactive === true) {
    return `# MiniMax context\n\n${inlineText(data.message ?? 'MiniMax is off for this file.')}\n`;
  }
  const items = Array.isArray(data.items) ? (data.items as ManifestItem[]) : [];
  const tokens = typeof data.tokens === 'number' ? data.tokens : items.reduce((n, i) => n + (Number(i.tokens) || 0), 0);
  const budget = typeof data.budget === 'number' ? data.budget : undefined;
  const lines = [
    '# MiniMax context',
    '',
    `Task **${inlineText(data.task ?? 'complete')}**: ${items.length} span${items.length === 1 ? '' : 's'}, ` +
      `${tokens.toLocaleString('en-US')} tokens` +
      (budget !== undefined ? ` of a ${budget.toLocaleString('en-US')}-token budget` : '') +
      (typeof data.workspace === 'string' ? ` — workspace \`${data.workspace.replace(/`/g, '')}\`` : ''),
    '',
  ];
  if (items.length === 0) {
    lines.push('Nothing would be sent besides the request itself.', '');
    return lines.join('\n');
  }
  lines.push('| # | file | lines | mode | tokens | reason |', '|---:|---|---|---|---:|---|');
  items.forEach((item, index) => {
    const range = item.start_line === item.end_line ? `${tableCell(item.start_line)}` : `${tableCell(item.start_line)}–${tableCell(item.end_line)}`;
    lines.push(
      `| ${index + 1} | \`${tableCell(item.path).replace(/`/g, '')}\` | ${range} | ${tableCell(item.mode)} | ${tableCell(item.tokens)} | ${tableCell(item.reason)} |`,
    );
  });
  lines.push('');
  return lines.join('\n');
}

/** The `minimax.status` result as a readable markdown report. */
export function statusMarkdown(result: unknown): string {
  const data = (typeof result === 'object' && result !== null ? result : {}) as Record<string, unknown>;
  const lines = ['# MiniMax status', '', `**${inlineText(data.state ?? 'unknown')}** — ${inlineText(data.message ?? '')}`, ''];
  const facts: [string, unknown][] = [
    ['server version', data.version],
    ['model', data.model],
    ['completion model', data.completionModel],
    ['API', data.api],
    ['endpoint', data.baseUrl],
    ['API key', data.keyPresent === true ? 'set' : data.keyPresent === false ? 'not set' : undefined],
  ];
  lines.push('| | |', '|---|---|');
  for (const [name, value] of facts) {
    if (value !== undefined && value !== null && value !== '') {
      lines.push(`| ${name} | ${tableCell(value)} |`);
    }
  }
  lines.push('');
  const workspaces = Array.isArray(data.workspaces) ? (data.workspaces as Record<string, unknown>[]) : [];
  if (workspaces.length > 0) {
    lines.push('## Workspace folders', '', '| folder | files | symbols | state |', '|---|---:|---:|---|');
    for (const w of workspaces) {
      lines.push(`| ${tableCell(w.name ?? w.root)} | ${tableCell(w.files)} | ${tableCell(w.symbols)} | ${tableCell(w.state ?? (w.ready ? 'ready' : ''))} |`);
    }
    lines.push('');
  }
  const usage = data.usage as Usage | undefined;
  if (usage) {
    lines.push(
      '## Usage this session',
      '',
      '| requests | input tokens | output tokens | cache read | cache hit |',
      '|---:|---:|---:|---:|---:|',
      `| ${tableCell(usage.requests ?? 0)} | ${tableCell(usage.inputTokens ?? 0)} | ${tableCell(usage.outputTokens ?? 0)} | ` +
        `${tableCell(usage.cacheReadTokens ?? 0)} | ${Math.round((usage.cacheHitShare ?? 0) * 100)}% |`,
      '',
    );
  }
  const spend = data.spend as Record<string, unknown> | undefined;
  if (spend && typeof spend === 'object') {
    lines.push('## Spend limits', '', '| | |', '|---|---|');
    for (const [key, value] of Object.entries(spend)) {
      lines.push(`| ${tableCell(key)} | ${tableCell(value ?? 'no limit')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
