import assert from 'node:assert/strict';
import { test } from 'node:test';

import { StatusBar } from '../../src/common/statusBar';
import { stub } from './stub/vscode';

test('the status bar item follows client state, statuses and the active file', () => {
  const bar = new StatusBar();
  const item = stub.items[stub.items.length - 1];
  assert.equal(item.visible, true);
  assert.equal(item.text, '$(loading~spin) MiniMax');

  bar.setClientState('running');
  bar.update({ state: 'indexing', message: 'Indexing 5/10 files' });
  assert.equal(item.text, '$(sync~spin) MiniMax 5/10');
  bar.update({ state: 'ready', message: 'Ready: 10 files indexed' });
  assert.equal(item.text, '$(sparkle) MiniMax');
  assert.equal(item.backgroundColor, undefined);

  bar.update({ state: 'inactive', message: 'off (secret)', uri: 'file:///w/.env' });
  assert.equal(item.text, '$(sparkle) MiniMax', 'another file is active');
  stub.setActiveEditorUri('file:///w/.env');
  assert.equal(item.text, '$(circle-slash) MiniMax: off');
  stub.setActiveEditorUri('file:///w/a.py');
  assert.equal(item.text, '$(sparkle) MiniMax');

  bar.update({ state: 'no-key', message: 'No key' });
  assert.equal(item.command, 'minimax.setApiKey');
  assert.equal((item.backgroundColor as { id: string } | undefined)?.id, 'statusBarItem.warningBackground');

  bar.setClientState('failed');
  assert.equal(item.text, '$(error) MiniMax');
  assert.equal(bar.lastStatus, undefined, 'statuses of a dead server are forgotten');
  bar.dispose();
  assert.equal(item.visible, false);
});
