import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SerialQueue } from '../../src/common/serial';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

test('jobs never overlap, and requests waiting together coalesce', async () => {
  const queue = new SerialQueue();
  const log: string[] = [];
  let running = 0;
  const job = (name: string) => async () => {
    running += 1;
    assert.equal(running, 1, 'two jobs ran at once');
    log.push(`start ${name}`);
    await tick();
    log.push(`end ${name}`);
    running -= 1;
  };
  const first = queue.run(job('1'));
  assert.equal(queue.run(job('1b')), first, 'job 1 has not started yet: join it');
  await new Promise((resolve) => setTimeout(resolve, 1)); // job 1 is running now
  const second = queue.run(job('2')); // waits behind 1
  const third = queue.run(job('3')); // joins 2: same promise, job 3 never runs
  assert.equal(second, third);
  assert.notEqual(first, second);
  await Promise.all([first, second, third]);
  const fourth = queue.run(job('4'));
  await fourth;
  assert.deepEqual(log, ['start 1', 'end 1', 'start 2', 'end 2', 'start 4', 'end 4']);
});

test('a request during a running job queues one more run', async () => {
  const queue = new SerialQueue();
  let runs = 0;
  const job = async () => {
    runs += 1;
    await tick();
  };
  const first = queue.run(job);
  await Promise.resolve(); // job 1 has started
  await tick();
  const second = queue.run(job);
  assert.notEqual(first, second);
  await second;
  assert.equal(runs, 2);
});

test('a failing job rejects its callers but not the queue', async () => {
  const queue = new SerialQueue();
  await assert.rejects(queue.run(() => Promise.reject(new Error('nope'))), /nope/);
  let ran = false;
  await queue.run(() => {
    ran = true;
    return Promise.resolve();
  });
  assert.equal(ran, true);
  await queue.idle();
});
