/**
 * Identifiers shared by the extension's modules: the settings section, the client id,
 * the secret's storage key and every command id.
 *
 * Two families of command ids exist and must never collide:
 * - `SERVER_COMMANDS` are the language server's `workspace/executeCommand` commands;
 *   vscode-languageclient registers each as a VS Code command of the same id when the
 *   server advertises it (so code actions can run them).
 * - `COMMANDS` are this extension's palette commands (contributed in package.json).
 */

/** Settings section (`minimax.*`) and the LSP `workspace/configuration` section. */
export const SECTION = 'minimax';

/** Language client id; vscode-languageclient reads `minimax.trace.server` from it. */
export const CLIENT_ID = 'minimax';

/** Human name of the server (output channel, messages). */
export const SERVER_NAME = 'MiniMax';

/** SecretStorage key under which the API key is kept. */
export const SECRET_API_KEY = 'minimax.apiKey';

/** Environment variable through which the server receives the key. */
export const API_KEY_ENV = 'MINIMAX_API_KEY';

/** The Python module the server runs as (`python -m minimax_lsp serve`). */
export const SERVER_MODULE = 'minimax_lsp';

/** What a user runs to install the server into an interpreter. */
export const SERVER_PACKAGE = 'minimax-lsp';

/** Custom notifications sent by the server. */
export const NOTIFICATIONS = {
  status: 'minimax/status',
  streamDelta: 'minimax/streamDelta',
} as const;

/** The server's `workspace/executeCommand` commands (see docs/protocol.md). */
export const SERVER_COMMANDS = {
  explain: 'minimax.explain',
  refactor: 'minimax.refactor',
  chat: 'minimax.chat',
  showContext: 'minimax.showContext',
  reindex: 'minimax.reindex',
  status: 'minimax.status',
} as const;

/** This extension's commands (package.json `contributes.commands`). */
export const COMMANDS = {
  explainSelection: 'minimax.explainSelection',
  refactorSelection: 'minimax.refactorSelection',
  chat: 'minimax.chatAsk',
  showContext: 'minimax.showContextTable',
  reindex: 'minimax.reindexWorkspace',
  showStatus: 'minimax.showStatusDetails',
  setApiKey: 'minimax.setApiKey',
  clearApiKey: 'minimax.clearApiKey',
  restart: 'minimax.restart',
  showLog: 'minimax.showLog',
} as const;

/** Settings read by the extension itself and never sent to the server. */
export const EXTENSION_ONLY_SETTINGS: readonly string[] = ['interpreter', 'trace.server'];
