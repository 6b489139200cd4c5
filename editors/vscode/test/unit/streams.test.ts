import assert from 'node:assert/strict';
import { test } from 'node:test';

import { isStreamDelta, type StreamSink, StreamRouter } from '../../src/common/streams';

function sink(): StreamSink & { text: string; thinking: string } {
  const s = { text: '', thinking: '', onText: (t: string) => (s.text += t), onThinking: (t: string) => (s.thinking += t) };
  return s;
}

test('deltas go to the sink holding their id; thinking is kept apart', () => {
  const router = new StreamRouter();
  const a = sink();
  const b = sink();
  router.open(a, 'tok-1');
  router.open(b, 'tok-2');
  assert.equal(router.deliver({ requestId: 'tok-2', text: 'B1' }), true);
  assert.equal(router.deliver({ requestId: 'tok-1', text: 'A1' }), true);
  assert.equal(router.deliver({ requestId: 'tok-1', text: 'why', kind: 'thinking' }), true);
  assert.equal(router.deliver({ requestId: 'tok-2', text: 'B2', kind: 'text' }), true);
  assert.deepEqual([a.text, a.thinking, b.text], ['A1', 'why', 'B1B2']);
});

test('an unknown id goes to the oldest sink still waiting, which keeps it', () => {
  const router = new StreamRouter();
  const a = sink();
  const b = sink();
  router.open(a, 'tok-1');
  router.open(b, 'tok-2');
  router.deliver({ requestId: 7, text: 'x' }); // server-numbered stream: first waiting sink
  router.deliver({ requestId: 8, text: 'y' }); // a has seen text: next waiting sink
  router.deliver({ requestId: 7, text: 'z' });
  assert.deepEqual([a.text, b.text], ['xz', 'y']);
});

test('closed streams get nothing; stray deltas are refused', () => {
  const router = new StreamRouter();
  const a = sink();
  const handle = router.open(a, 'tok-1');
  router.close(handle);
  assert.equal(router.size, 0);
  assert.equal(router.deliver({ requestId: 'tok-1', text: 'late' }), false);
  assert.equal(a.text, '');
});

test('delta shape check', () => {
  assert.equal(isStreamDelta({ requestId: 1, text: '' }), true);
  assert.equal(isStreamDelta({ requestId: 'a', text: 'x', kind: 'thinking' }), true);
  assert.equal(isStreamDelta({ requestId: 'a' }), false);
  assert.equal(isStreamDelta({ requestId: {}, text: 'x' }), false);
  assert.equal(isStreamDelta({ requestId: 'a', text: 'x', kind: 3 }), false);
  assert.equal(isStreamDelta('x'), false);
});
