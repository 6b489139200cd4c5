import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createLogger, redact, stderrLevel } from '../../src/common/log/logging';

test('secrets are redacted, short ones left alone', () => {
  assert.equal(redact('key sk-abcdef123 in sk-abcdef123!', ['sk-abcdef123']), 'key *** in ***!');
  assert.equal(redact('a bc', ['bc', undefined, '']), 'a bc');
});

test('the logger redacts every level, errors included, with the current secrets', () => {
  const lines: string[] = [];
  const sink = {
    trace: (m: string) => lines.push(`trace ${m}`),
    debug: (m: string) => lines.push(`debug ${m}`),
    info: (m: string) => lines.push(`info ${m}`),
    warn: (m: string) => lines.push(`warn ${m}`),
    error: (m: string) => lines.push(`error ${m}`),
  };
  let secret = 'first-secret';
  const log = createLogger(sink, () => [secret]);
  log.info('using first-secret');
  secret = 'second-secret';
  log.warn('first-secret second-secret');
  const error = new Error('bad key second-secret');
  error.stack = 'Error: bad key second-secret\n    at x';
  log.error(error);
  log.debug('d');
  log.trace('t');
  assert.deepEqual(lines, [
    'info using ***',
    'warn first-secret ***',
    'error Error: bad key ***\n    at x',
    'debug d',
    'trace t',
  ]);
});

test('server stderr lines: log records by level, anything else is an error', () => {
  assert.equal(stderrLevel('22:40:49.874 DEBUG minimax_lsp.session: settings read', true), 'debug');
  assert.equal(stderrLevel('22:40:49.874 INFO minimax_lsp.session: x', false), 'trace');
  assert.equal(stderrLevel('22:40:49.874 WARNING minimax_lsp.session: x', true), 'trace');
  assert.equal(stderrLevel('22:40:49.874 WARNING minimax_lsp.session: x', false), 'warn');
  assert.equal(stderrLevel('22:40:49.874 ERROR minimax_lsp.app: boom', false), 'error');
  assert.equal(stderrLevel('Traceback (most recent call last):', true), 'error');
  assert.equal(stderrLevel("ModuleNotFoundError: No module named 'pygls'", false), 'error');
  assert.equal(stderrLevel('   ', false), 'trace');
});
