import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import {
  checkServerImportable,
  findOnPath,
  installCommand,
  type InterpreterSource,
  isExecutableFile,
  pythonEnvironmentsSource,
  pythonExtensionSource,
  resolveInterpreter,
  type Runner,
  serverCommand,
  shellQuote,
} from '../../src/common/python';

function source(name: InterpreterSource['name'], result: string[] | undefined | Error, calls: string[]): InterpreterSource {
  return {
    name,
    find: () => {
      calls.push(name);
      return result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
    },
  };
}

test('the first source with a command wins, later ones are not asked', async () => {
  const calls: string[] = [];
  const found = await resolveInterpreter(
    [
      source('setting', [], calls),
      source('python-environments', undefined, calls),
      source('python-extension', ['/env/bin/python'], calls),
      source('path', ['/usr/bin/python3'], calls),
    ],
  );
  assert.deepEqual(found, { command: ['/env/bin/python'], source: 'python-extension' });
  assert.deepEqual(calls, ['setting', 'python-environments', 'python-extension']);
});

test('the setting outranks everything', async () => {
  const calls: string[] = [];
  const found = await resolveInterpreter([source('setting', ['py', '-3'], calls), source('path', ['/usr/bin/python3'], calls)]);
  assert.deepEqual(found, { command: ['py', '-3'], source: 'setting' });
  assert.deepEqual(calls, ['setting']);
});

test('a failing source is reported and skipped', async () => {
  const calls: string[] = [];
  const failures: string[] = [];
  const found = await resolveInterpreter(
    [source('python-extension', new Error('boom'), calls), source('path', ['/usr/bin/python3'], calls)],
    (name, error) => failures.push(`${name}: ${(error as Error).message}`),
  );
  assert.equal(found?.source, 'path');
  assert.deepEqual(failures, ['python-extension: boom']);
});

test('nothing found gives undefined', async () => {
  assert.equal(await resolveInterpreter([source('path', undefined, [])]), undefined);
  assert.equal(await resolveInterpreter([source('setting', [''], [])]), undefined);
});

test('PATH search: names in order, then directories in order', () => {
  const exists = new Set(['/b/python', '/c/python3']);
  assert.equal(findOnPath(['python3', 'python'], '/a:/b:/c', (f) => exists.has(f), ':'), '/c/python3');
  assert.equal(findOnPath(['python3'], '', () => true, ':'), undefined);
  assert.equal(findOnPath(['python3'], undefined, () => true, ':'), undefined);
});

test('isExecutableFile tells programs from directories and plain files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'minimax-py-'));
  const program = join(dir, 'python3');
  const plain = join(dir, 'notes.txt');
  writeFileSync(program, '#!/bin/sh\n');
  chmodSync(program, 0o755);
  writeFileSync(plain, 'x');
  chmodSync(plain, 0o644);
  mkdirSync(join(dir, 'sub'));
  assert.equal(isExecutableFile(program), true);
  assert.equal(isExecutableFile(plain), false);
  assert.equal(isExecutableFile(join(dir, 'sub')), false);
  assert.equal(isExecutableFile(join(dir, 'missing')), false);
});

test('install command and server command', () => {
  assert.equal(installCommand(['/usr/bin/python3']), '/usr/bin/python3 -m pip install minimax-lsp');
  assert.equal(installCommand(["/home/o'neil/my env/python"]), `'/home/o'\\''neil/my env/python' -m pip install minimax-lsp`);
  assert.equal(shellQuote('a b'), "'a b'");
  assert.deepEqual(serverCommand(['py', '-3.12']), { command: 'py', args: ['-3.12', '-m', 'minimax_lsp', 'serve'] });
});

test('import check runs `python -c "import minimax_lsp"` and reports the last error line', async () => {
  const seen: string[][] = [];
  const ok: Runner = (file, args) => {
    seen.push([file, ...args]);
    return Promise.resolve({ code: 0, stdout: '', stderr: '' });
  };
  assert.deepEqual(await checkServerImportable(['py', '-3'], ok), { ok: true });
  assert.deepEqual(seen, [['py', '-3', '-c', 'import minimax_lsp']]);
  const missing: Runner = () =>
    Promise.resolve({ code: 1, stdout: '', stderr: 'Traceback...\nModuleNotFoundError: No module named \'minimax_lsp\'\n' });
  assert.deepEqual(await checkServerImportable(['python3'], missing), {
    ok: false,
    detail: "ModuleNotFoundError: No module named 'minimax_lsp'",
  });
  const absent: Runner = () => Promise.resolve({ code: null, stdout: '', stderr: '', error: 'spawn nope ENOENT' });
  assert.deepEqual(await checkServerImportable(['nope'], absent), { ok: false, detail: 'spawn nope ENOENT' });
});

test('the real import check fails for a Python without the server', async () => {
  const result = await checkServerImportable(['python3', '-I', '-S']);
  assert.equal(result.ok, false);
});

function fakeLookup(extensions: Record<string, unknown>) {
  return <T>(id: string) => {
    if (!(id in extensions)) {
      return undefined;
    }
    return { isActive: true, exports: extensions[id] as T, activate: () => Promise.resolve(extensions[id] as T) } as never;
  };
}

test('the Python Environments adapter returns the run executable and its arguments', async () => {
  const lookup = fakeLookup({
    'ms-python.vscode-python-envs': {
      getEnvironment: () => Promise.resolve({ execInfo: { run: { executable: '/conda/bin/python', args: ['-X', 'utf8'] } } }),
    },
  });
  assert.deepEqual(await pythonEnvironmentsSource(lookup, () => undefined).find(), ['/conda/bin/python', '-X', 'utf8']);
  assert.equal(await pythonEnvironmentsSource(fakeLookup({}), () => undefined).find(), undefined);
});

test('the Python extension adapter resolves the active environment', async () => {
  const lookup = fakeLookup({
    'ms-python.python': {
      environments: {
        getActiveEnvironmentPath: () => ({ path: '/venv' }),
        resolveEnvironment: () => Promise.resolve({ executable: { uri: { fsPath: '/venv/bin/python' } } }),
      },
    },
  });
  assert.deepEqual(await pythonExtensionSource(lookup, () => undefined).find(), ['/venv/bin/python']);
  const unresolved = fakeLookup({
    'ms-python.python': {
      environments: { getActiveEnvironmentPath: () => ({ path: '/gone' }), resolveEnvironment: () => Promise.resolve(undefined) },
    },
  });
  assert.equal(await pythonExtensionSource(unresolved, () => undefined).find(), undefined);
});
