/**
 * MiniMax for VS Code: activation and wiring.
 *
 * On activation: create the log channel and the status bar item, register the
 * commands, then start the server (`python -m minimax_lsp serve`, see common/server.ts).
 * The server restarts, serialised, when the interpreter changes (the
 * `minimax.interpreter` setting or the Python extension's selection) and when the API
 * key is set or cleared; every other setting reaches the running server as
 * `workspace/didChangeConfiguration`.
 */

import * as os from 'node:os';
import type * as vscode from 'vscode';

import { Commands } from './common/commands';
import { API_KEY_ENV, COMMANDS, SECRET_API_KEY, SECTION, SERVER_NAME } from './common/constants';
import { createLogger, type Logger } from './common/log/logging';
import {
  checkServerImportable,
  findOnPath,
  installCommand,
  type Interpreter,
  isExecutableFile,
  onPythonInterpreterChanged,
  pythonEnvironmentsSource,
  pythonExtensionSource,
  resolveInterpreter,
} from './common/python';
import { ServerController } from './common/server';
import { needsRestart, readExtensionSettings, type Severity, shouldNotify, substituteVariables } from './common/settings';
import { StatusBar } from './common/statusBar';
import {
  activeTextEditor,
  createLogOutputChannel,
  executeCommand,
  getConfiguration,
  getExtension,
  getWorkspaceFolders,
  onDidChangeConfiguration,
  showErrorMessage,
  showInformationMessage,
  showWarningMessage,
  writeClipboard,
} from './common/vscodeapi';

let controller: ServerController | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const channel = createLogOutputChannel(SERVER_NAME);
  // The key, once read, is remembered only to redact it from log lines.
  let knownKey: string | undefined;
  const log = createLogger(channel, () => [knownKey, process.env[API_KEY_ENV]]);
  const statusBar = new StatusBar();
  context.subscriptions.push(channel, statusBar);

  const settings = () => readExtensionSettings((key) => getConfiguration(SECTION).get(key));
  const notify = (severity: Severity, message: string): void => {
    if (!shouldNotify(settings().showNotifications, severity)) {
      return;
    }
    const show = severity === 'error' ? showErrorMessage : severity === 'warning' ? showWarningMessage : showInformationMessage;
    void show(message);
  };

  const scope = () => activeTextEditor()?.document.uri ?? getWorkspaceFolders()[0]?.uri;
  const server: ServerController = new ServerController({
    log,
    channel,
    packageJson: context.extension.packageJSON as unknown,
    prepareInterpreter: () => prepareInterpreter(log, settings().interpreter, scope, settings().showNotifications !== 'off'),
    apiKey: async () => {
      knownKey = await context.secrets.get(SECRET_API_KEY);
      return knownKey;
    },
    onClientState: (state) => statusBar.setClientState(state),
    onStatus: (status) => statusBar.update(status),
    onStreamDelta: (delta) => commands.onStreamDelta(delta),
    executeCommand: (command, args, next) => commands.runServerCommand(command, args, next),
    resolveCodeAction: (item, token, next) => commands.resolveCodeAction(item, token, next),
    startFailed: (message) => notify('error', message),
  });
  controller = server;
  // Created after the controller it drives; the callbacks above run only once it started.
  const commands: Commands = new Commands({ controller: server, log, channel, secrets: context.secrets, notify });
  context.subscriptions.push(server, commands, ...commands.register());

  context.subscriptions.push(
    onDidChangeConfiguration((event) => {
      if (needsRestart((section) => event.affectsConfiguration(section))) {
        void server.restart('interpreter setting changed');
      }
    }),
    context.secrets.onDidChange((event) => {
      if (event.key === SECRET_API_KEY) {
        void server.restart('API key changed');
      }
    }),
    ...onPythonInterpreterChanged(getExtension, () => {
      if (settings().interpreter.length === 0) {
        void server.restart('Python interpreter changed');
      }
    }),
  );

  await server.restart('activation');
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
  controller = undefined;
}

/**
 * Find an interpreter (setting -> Python Environments -> Python extension -> PATH) and
 * check it imports the server; otherwise show one actionable error.
 */
async function prepareInterpreter(
  log: Logger,
  configured: readonly string[],
  scope: () => vscode.Uri | undefined,
  showErrors: boolean,
): Promise<Interpreter | undefined> {
  const vars = { workspaceFolder: getWorkspaceFolders()[0]?.uri.fsPath, userHome: os.homedir(), env: process.env };
  const interpreter = await resolveInterpreter(
    [
      { name: 'setting', find: () => Promise.resolve(substituteVariables(configured, vars)) },
      pythonEnvironmentsSource(getExtension, scope),
      pythonExtensionSource(getExtension, scope),
      {
        name: 'path',
        find: () => {
          const found = findOnPath(process.platform === 'win32' ? ['python.exe', 'py.exe'] : ['python3', 'python'], process.env.PATH, isExecutableFile);
          return Promise.resolve(found ? [found] : undefined);
        },
      },
    ],
    (name, error) => log.warn(`Interpreter source ${name} failed: ${String(error)}`),
  );
  if (!interpreter) {
    log.error('No Python interpreter found (setting, Python extensions, PATH).');
    if (showErrors) {
      void showErrorMessage(
        'MiniMax: no Python 3 interpreter found. Install Python 3.11+ or set "minimax.interpreter".',
        'Open Settings',
      ).then((choice) => choice && executeCommand('workbench.action.openSettings', `${SECTION}.interpreter`));
    }
    return undefined;
  }
  log.info(`Interpreter (${interpreter.source}): ${interpreter.command.join(' ')}`);
  const check = await checkServerImportable(interpreter.command);
  if (check.ok) {
    return interpreter;
  }
  const install = installCommand(interpreter.command);
  log.error(`${interpreter.command.join(' ')} cannot import the server: ${check.detail}. Install it with: ${install}`);
  if (showErrors) {
    const copy = 'Copy install command';
    void showErrorMessage(
      `MiniMax: the server is not installed for ${interpreter.command.join(' ')}. Install it with "${install}", or set "minimax.interpreter".`,
      copy,
      'Open Settings',
      'Show Log',
    ).then(async (choice) => {
      if (choice === copy) {
        await writeClipboard(install);
        void showInformationMessage(`Copied: ${install}`);
      } else if (choice === 'Open Settings') {
        await executeCommand('workbench.action.openSettings', `${SECTION}.interpreter`);
      } else if (choice === 'Show Log') {
        await executeCommand(COMMANDS.showLog);
      }
    });
  }
  return undefined;
}
