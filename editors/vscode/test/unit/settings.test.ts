import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import {
  explicitServerSettings,
  type Inspection,
  needsRestart,
  parseInterpreter,
  parseNotificationLevel,
  readExtensionSettings,
  serverSettingKeys,
  shouldNotify,
  substituteVariables,
} from '../../src/common/settings';

// out/test/<file>.js -> the extension's package.json
const packageJson: unknown = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));

test('interpreter: a string is one program, an array a program plus arguments', () => {
  assert.deepEqual(parseInterpreter(' /usr/bin/python3 '), ['/usr/bin/python3']);
  assert.deepEqual(parseInterpreter(['py', '-3.12', '']), ['py', '-3.12']);
  assert.deepEqual(parseInterpreter(''), []);
  assert.deepEqual(parseInterpreter([1, 'x']), []);
  assert.deepEqual(parseInterpreter(undefined), []);
});

test('interpreter: variables and ~ expand like VS Code settings', () => {
  const vars = { workspaceFolder: '/ws', userHome: '/home/u', env: { VENV: '/opt/venv' } };
  assert.deepEqual(
    substituteVariables(['${workspaceFolder}/.venv/bin/python', '~/x', '${env:VENV}/bin/python', '${env:NOPE}', '${userHome}'], vars),
    ['/ws/.venv/bin/python', '/home/u/x', '/opt/venv/bin/python', '', '/home/u'],
  );
  // Without a folder the placeholder stays (and the import check will say so).
  assert.deepEqual(substituteVariables(['${workspaceFolder}/py'], { userHome: '/h', env: {} }), ['${workspaceFolder}/py']);
});

test('showNotifications gates pop-ups by severity', () => {
  assert.equal(parseNotificationLevel('always'), 'always');
  assert.equal(parseNotificationLevel('loud'), 'onError');
  assert.equal(parseNotificationLevel(undefined), 'onError');
  const table = (['off', 'onError', 'always'] as const).map((level) =>
    (['error', 'warning', 'info'] as const).map((severity) => shouldNotify(level, severity)),
  );
  assert.deepEqual(table, [
    [false, false, false],
    [true, true, false],
    [true, true, true],
  ]);
});

test('extension settings are read through one accessor', () => {
  const values: Record<string, unknown> = { interpreter: ['/p/python'], showNotifications: 'off' };
  assert.deepEqual(readExtensionSettings((k) => values[k]), { interpreter: ['/p/python'], showNotifications: 'off' });
});

test('server setting keys come from package.json, extension-only ones excluded', () => {
  const keys = serverSettingKeys(packageJson);
  assert.ok(keys.includes('model'));
  assert.ok(keys.includes('tasks.chat.budget'));
  assert.ok(keys.includes('inlineCompletion.languages'));
  assert.ok(keys.includes('showNotifications'));
  assert.ok(!keys.includes('interpreter'));
  assert.ok(!keys.includes('trace.server'));
  assert.ok(!keys.some((k) => k.toLowerCase().includes('apikey') && !['apiKeyFile', 'apiKeyCommand'].includes(k)));
});

test('only explicitly set values are sent, nested, narrowest scope first', () => {
  const inspections: Record<string, Inspection> = {
    model: { globalValue: 'MiniMax-M2' },
    baseUrl: {}, // only the package.json default: not sent, so MINIMAX_BASE_URL still applies
    'tasks.chat.budget': { globalValue: 1000, workspaceValue: 2000 },
    'tasks.chat.thinking': { globalValue: 'adaptive', workspaceValue: 'disabled', workspaceFolderValue: 'adaptive' },
    'inlineCompletion.languages': { globalValue: { python: false } },
  };
  const settings = explicitServerSettings(Object.keys(inspections), (k) => inspections[k]);
  assert.deepEqual(settings, {
    model: 'MiniMax-M2',
    tasks: { chat: { budget: 2000, thinking: 'adaptive' } },
    inlineCompletion: { languages: { python: false } },
  });
});

test('sent values are plain copies', () => {
  const frozen = Object.freeze({ python: true });
  const settings = explicitServerSettings(['inlineCompletion.languages'], () => ({ globalValue: frozen }));
  const languages = (settings.inlineCompletion as Record<string, Record<string, boolean>>).languages;
  assert.notEqual(languages, frozen);
  languages.go = false; // would throw if it were the frozen object
});

test('only an interpreter change restarts the server', () => {
  assert.equal(needsRestart((s) => s === 'minimax.interpreter'), true);
  assert.equal(needsRestart((s) => s === 'minimax.model' || s === 'minimax'), false);
});
