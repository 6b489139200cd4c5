/**
 * Finding the Python that runs the server, and checking it can.
 *
 * Discovery order (the python-tools-extension-template's, first hit wins):
 * 1. the `minimax.interpreter` setting (a path, or a program plus arguments);
 * 2. the Python Environments extension (`ms-python.vscode-python-envs`) for the
 *    workspace;
 * 3. the Python extension (`ms-python.python`) active environment;
 * 4. `python3` (then `python`) on PATH.
 *
 * The chosen interpreter must import `minimax_lsp` (`python -c "import minimax_lsp"`);
 * if it cannot, the caller shows one error with a "Copy install command" action.
 *
 * The resolution order, PATH search and command quoting are pure and unit tested; the
 * two extension adapters below only translate those extensions' APIs.
 */

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as vscode from 'vscode';

import { SERVER_MODULE, SERVER_PACKAGE } from './constants';

/** Where an interpreter came from (shown in the log and in messages). */
export type InterpreterSourceName = 'setting' | 'python-environments' | 'python-extension' | 'path';

/** A resolved interpreter: the command to run (program + fixed arguments). */
export interface Interpreter {
  readonly command: readonly string[];
  readonly source: InterpreterSourceName;
}

/** One step of the discovery order. `find` resolves to a command or `undefined`. */
export interface InterpreterSource {
  readonly name: InterpreterSourceName;
  find(): Promise<readonly string[] | undefined>;
}

/** Something that went wrong in a source; the search goes on with the next one. */
export type SourceFailure = (name: InterpreterSourceName, error: unknown) => void;

/**
 * The first source in order that yields a non-empty command.
 *
 * A source that throws is reported through `onFailure` and skipped: a broken Python
 * extension must not stop the server from starting with `python3` from PATH.
 */
export async function resolveInterpreter(
  sources: readonly InterpreterSource[],
  onFailure: SourceFailure = () => undefined,
): Promise<Interpreter | undefined> {
  for (const source of sources) {
    let command: readonly string[] | undefined;
    try {
      command = await source.find();
    } catch (error) {
      onFailure(source.name, error);
      continue;
    }
    if (command && command.length > 0 && command[0].length > 0) {
      return { command: [...command], source: source.name };
    }
  }
  return undefined;
}

/**
 * The first of `names` found as an executable file in the `PATH`-style list `envPath`.
 *
 * @param isExecutable Injected file check (real one: `isExecutableFile`).
 */
export function findOnPath(
  names: readonly string[],
  envPath: string | undefined,
  isExecutable: (file: string) => boolean,
  delimiter: string = path.delimiter,
): string | undefined {
  const dirs = (envPath ?? '').split(delimiter).filter((d) => d.length > 0);
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/** Whether `file` is a regular file this process may execute. */
export function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Quote one word for a POSIX shell (only when needed). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line a user runs to install the server into `interpreter`. */
export function installCommand(interpreter: readonly string[]): string {
  return [...interpreter, '-m', 'pip', 'install', SERVER_PACKAGE].map(shellQuote).join(' ');
}

/** Program and arguments that start the server over stdio. */
export function serverCommand(interpreter: readonly string[]): { command: string; args: string[] } {
  return { command: interpreter[0], args: [...interpreter.slice(1), '-m', SERVER_MODULE, 'serve'] };
}

/** Result of the import check. */
export type ImportCheck = { readonly ok: true } | { readonly ok: false; readonly detail: string };

/** Runs a program; resolves with its exit status and output (never rejects). */
export type Runner = (
  file: string,
  args: readonly string[],
  timeoutMs: number,
) => Promise<{ code: number | null; stdout: string; stderr: string; error?: string }>;

/** The real `Runner` (child_process.execFile, no shell). */
export const execRunner: Runner = (file, args, timeoutMs) =>
  new Promise((resolve) => {
    execFile(file, [...args], { timeout: timeoutMs, windowsHide: true }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), error: error?.message });
    });
  });

/** Check that `interpreter` can import the server package. */
export async function checkServerImportable(
  interpreter: readonly string[],
  run: Runner = execRunner,
  timeoutMs = 30_000,
): Promise<ImportCheck> {
  const result = await run(interpreter[0], [...interpreter.slice(1), '-c', `import ${SERVER_MODULE}`], timeoutMs);
  if (result.code === 0) {
    return { ok: true };
  }
  const lastLine = result.stderr.trim().split('\n').pop() ?? '';
  return { ok: false, detail: lastLine || result.error || `exit status ${String(result.code)}` };
}

// --------------------------------------------------------------------------- adapters

/** The part of the Python Environments extension's API used here. */
interface PythonEnvironmentsApi {
  getEnvironment(scope: vscode.Uri | undefined): Promise<
    { execInfo?: { run?: { executable?: string; args?: string[] } } } | undefined
  >;
  onDidChangeEnvironment?: vscode.Event<unknown>;
}

/** The part of the Python extension's (`ms-python.python`) API used here. */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
    resolveEnvironment(
      env: { path: string } | string,
    ): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
  };
}

type ExtensionLookup = <T>(id: string) => vscode.Extension<T> | undefined;

async function activated<T>(lookup: ExtensionLookup, id: string): Promise<T | undefined> {
  const extension = lookup<T>(id);
  if (!extension) {
    return undefined;
  }
  return extension.isActive ? extension.exports : await extension.activate();
}

/** Source 2: the Python Environments extension. */
export function pythonEnvironmentsSource(lookup: ExtensionLookup, scope: () => vscode.Uri | undefined): InterpreterSource {
  return {
    name: 'python-environments',
    async find() {
      const api = await activated<PythonEnvironmentsApi>(lookup, 'ms-python.vscode-python-envs');
      const environment = await api?.getEnvironment(scope());
      const run = environment?.execInfo?.run;
      return run?.executable ? [run.executable, ...(run.args ?? [])] : undefined;
    },
  };
}

/** Source 3: the Python extension's active environment. */
export function pythonExtensionSource(lookup: ExtensionLookup, scope: () => vscode.Uri | undefined): InterpreterSource {
  return {
    name: 'python-extension',
    async find() {
      const api = await activated<PythonExtensionApi>(lookup, 'ms-python.python');
      const environments = api?.environments;
      const active = environments?.getActiveEnvironmentPath(scope());
      if (!environments || !active) {
        return undefined;
      }
      const resolved = await environments.resolveEnvironment(active);
      const executable = resolved?.executable?.uri?.fsPath;
      return executable ? [executable] : undefined;
    },
  };
}

/**
 * Subscribe to interpreter changes reported by the Python extensions (when installed
 * and already active: an extension we did not need is not activated just for this).
 */
export function onPythonInterpreterChanged(lookup: ExtensionLookup, listener: () => void): vscode.Disposable[] {
  const disposables: vscode.Disposable[] = [];
  const envs = lookup<PythonEnvironmentsApi>('ms-python.vscode-python-envs');
  if (envs?.isActive && envs.exports.onDidChangeEnvironment) {
    disposables.push(envs.exports.onDidChangeEnvironment(listener));
  }
  const python = lookup<PythonExtensionApi>('ms-python.python');
  const event = python?.isActive ? python.exports.environments?.onDidChangeActiveEnvironmentPath : undefined;
  if (event) {
    disposables.push(event(listener));
  }
  return disposables;
}
