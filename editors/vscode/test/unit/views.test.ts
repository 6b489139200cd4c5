import assert from 'node:assert/strict';
import { test } from 'node:test';

import { renderMarkdown } from '../../src/common/render';
import {
  capabilitySummary,
  compactNumber,
  isServerStatus,
  manifestMarkdown,
  statusBarView,
  statusMarkdown,
  tableCell,
  usageSummary,
} from '../../src/common/views';

const usage = { requests: 3, inputTokens: 12000, outputTokens: 345, cacheReadTokens: 9000, cacheHitShare: 0.75 };

test('compact numbers', () => {
  assert.deepEqual([0, 999, 1000, 1234, 20000, 2_500_000].map(compactNumber), ['0', '999', '1k', '1.2k', '20k', '2.5M']);
});

test('usage summary', () => {
  assert.equal(usageSummary(undefined), '');
  assert.equal(usageSummary({ requests: 0 }), '');
  assert.equal(usageSummary(usage), '3 requests, 12.3k tokens, 75% cached');
  assert.equal(usageSummary({ requests: 1, inputTokens: 10 }), '1 request, 10 tokens');
});

test('status bar: client states frame the server status', () => {
  assert.equal(statusBarView('starting', undefined, undefined).text, '$(loading~spin) MiniMax');
  const failed = statusBarView('failed', undefined, undefined);
  assert.equal(failed.severity, 'error');
  assert.equal(failed.command, 'minimax.showLog');
  assert.equal(statusBarView('stopped', undefined, undefined).command, 'minimax.restart');
  assert.equal(statusBarView('running', undefined, undefined).text, '$(loading~spin) MiniMax');
});

test('status bar: indexing progress, ready with usage, problems', () => {
  const indexing = statusBarView('running', { state: 'indexing', message: 'Indexing 120/2800 files' }, undefined);
  assert.equal(indexing.text, '$(sync~spin) MiniMax 120/2800');
  assert.equal(statusBarView('running', { state: 'indexing', message: 'Indexing: scanning files' }, undefined).text, '$(sync~spin) MiniMax: indexing');
  const ready = statusBarView('running', { state: 'ready', message: 'Ready: 42 files indexed', usage }, undefined);
  assert.equal(ready.text, '$(sparkle) MiniMax 12.3k');
  assert.equal(ready.tooltip, 'Ready: 42 files indexed\nUsage this session: 3 requests, 12.3k tokens, 75% cached');
  assert.equal(ready.command, 'minimax.showStatusDetails');
  assert.equal(statusBarView('running', { state: 'ready', message: 'Ready' }, undefined).text, '$(sparkle) MiniMax');
  const noKey = statusBarView('running', { state: 'no-key', message: 'No key' }, undefined);
  assert.deepEqual([noKey.text, noKey.command, noKey.severity], ['$(key) MiniMax: set key', 'minimax.setApiKey', 'warning']);
  assert.equal(statusBarView('running', { state: 'offline', message: 'x' }, undefined).severity, 'warning');
  assert.equal(statusBarView('running', { state: 'spend-limit', message: 'x' }, undefined).text, '$(warning) MiniMax: limit');
  assert.equal(statusBarView('running', { state: 'error', message: 'Bad key' }, undefined).severity, 'error');
});

test('status bar: an inactive active document wins over the overall state', () => {
  const view = statusBarView(
    'running',
    { state: 'ready', message: 'Ready' },
    { state: 'inactive', message: 'MiniMax is off for this file (secret)', uri: 'file:///w/.env' },
  );
  assert.equal(view.text, '$(circle-slash) MiniMax: off');
  assert.equal(view.tooltip, 'MiniMax is off for this file (secret)');
  assert.equal(statusBarView('running', { state: 'ready', message: 'Ready' }, { state: 'ready', message: 'on', uri: 'u' }).text, '$(sparkle) MiniMax');
});

test('status payload shape check', () => {
  assert.equal(isServerStatus({ state: 'ready', message: 'm' }), true);
  assert.equal(isServerStatus({ state: 'ready', message: 'm', uri: 'file:///a' }), true);
  assert.equal(isServerStatus({ state: 'ready' }), false);
  assert.equal(isServerStatus({ state: 1, message: 'm' }), false);
  assert.equal(isServerStatus(null), false);
});

test('manifest table', () => {
  const markdown = manifestMarkdown({
    task: 'complete',
    budget: 6000,
    tokens: 1530,
    workspace: '/w',
    items: [
      { path: 'pkg/a.py', start_line: 1, end_line: 40, mode: 'full', tokens: 1200, reason: 'current file' },
      { path: 'pkg/b|c.py', start_line: 7, end_line: 7, mode: 'outline', tokens: 330, reason: 'defines `Foo`\nused here' },
    ],
  });
  assert.equal(
    markdown,
    [
      '# MiniMax context',
      '',
      'Task **complete**: 2 spans, 1,530 tokens of a 6,000-token budget — workspace `/w`',
      '',
      '| # | file | lines | mode | tokens | reason |',
      '|---:|---|---|---|---:|---|',
      '| 1 | `pkg/a.py` | 1–40 | full | 1200 | current file |',
      '| 2 | `pkg/b\\|c.py` | 7 | outline | 330 | defines `Foo` used here |',
      '',
    ].join('\n'),
  );
  const html = renderMarkdown(markdown);
  assert.equal((html.match(/<tr>/g) ?? []).length, 3);
  assert.match(html, /<code>pkg\/b\|c.py<\/code>/);
});

test('manifest: inactive file and empty pack', () => {
  assert.match(manifestMarkdown({ inactive: true, reason: 'secret', message: 'MiniMax is off for this file (secret); nothing is sent.' }), /off for this file \(secret\); nothing is sent/);
  assert.match(manifestMarkdown({ task: 'chat', items: [] }), /0 spans, 0 tokens[\s\S]*Nothing would be sent/);
  assert.match(manifestMarkdown(null), /0 spans/);
});

test('status report', () => {
  const markdown = statusMarkdown({
    state: 'ready',
    message: 'Ready: 3 files indexed',
    model: 'MiniMax-M3',
    api: 'anthropic',
    baseUrl: 'http://127.0.0.1:1/anthropic',
    keyPresent: true,
    version: '0.1.0',
    workspaces: [{ name: 'w', root: '/w', files: 3, symbols: 9, state: 'ready' }],
    usage,
    spend: { tokensToday: 12345, tokensPerDay: null },
  });
  assert.match(markdown, /\*\*ready\*\* — Ready: 3 files indexed/);
  assert.match(markdown, /\| API key \| set \|/);
  assert.match(markdown, /\| w \| 3 \| 9 \| ready \|/);
  assert.match(markdown, /\| 3 \| 12000 \| 345 \| 9000 \| 75% \|/);
  assert.match(markdown, /\| tokensPerDay \| no limit \|/);
  assert.equal(tableCell('a|b\nc'), 'a\\|b c');
});

test('capability summary', () => {
  assert.equal(capabilitySummary(undefined), 'inlineCompletion=no codeAction=no completion=no commands=none');
  assert.equal(
    capabilitySummary({ inlineCompletionProvider: {}, codeActionProvider: true, executeCommandProvider: { commands: ['minimax.explain', 3] } }),
    'inlineCompletion=yes codeAction=yes completion=no commands=minimax.explain',
  );
});
