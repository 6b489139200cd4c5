/**
 * Starting, stopping and restarting the language server (`python -m minimax_lsp serve`
 * over stdio) with vscode-languageclient (>= 10, which registers LSP 3.18 inline
 * completion by default, so VS Code's native ghost text, Tab / accept word / accept line
 * work without any code here).
 *
 * Contract
 * - Restarts are serialised (`SerialQueue`): requests that pile up while one waits
 *   coalesce into one. A non-forced restart is skipped when the interpreter and the key
 *   are what the running server was started with (the key listener and the key command
 *   may both ask for one).
 * - The API key reaches the server only through its process environment
 *   (`MINIMAX_API_KEY` in `ServerOptions.options.env`): never in settings,
 *   `initializationOptions` or any LSP message. A key in SecretStorage wins over one
 *   inherited from VS Code's own environment; without either the server runs and
 *   reports `no-key`.
 * - `initializationOptions` and `workspace/configuration` answers carry only the
 *   settings the user set (settings.ts); extension-only settings are stripped.
 */

import * as readline from 'node:readline';
import * as vscode from 'vscode';
import {
  type ConfigurationParams,
  type Executable,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  RevealOutputChannelOn,
  State,
} from 'vscode-languageclient/node';

import { API_KEY_ENV, CLIENT_ID, NOTIFICATIONS, SECTION, SERVER_NAME } from './constants';
import { type Logger, stderrLevel } from './log/logging';
import { type Interpreter, serverCommand } from './python';
import { SerialQueue } from './serial';
import { explicitServerSettings, serverSettingKeys } from './settings';
import { isStreamDelta, type StreamDelta } from './streams';
import { capabilitySummary, type ClientState, isServerStatus, type ServerStatus } from './views';
import { getConfiguration, getWorkspaceFolders } from './vscodeapi';

/** What the controller needs from the rest of the extension. */
export interface ServerHost {
  readonly log: Logger;
  readonly channel: vscode.LogOutputChannel;
  /** The extension's package.json (its contributed settings are the server's). */
  readonly packageJson: unknown;
  /** Find and check an interpreter; shows its own error and returns undefined on failure. */
  prepareInterpreter(): Promise<Interpreter | undefined>;
  apiKey(): Promise<string | undefined>;
  onClientState(state: ClientState): void;
  onStatus(status: ServerStatus): void;
  onStreamDelta(delta: StreamDelta): void;
  /** Hook for server commands run by VS Code itself (code actions), see commands.ts. */
  executeCommand(command: string, args: unknown[], next: (command: string, args: unknown[]) => Promise<unknown>): Promise<unknown>;
  /** Hook for `codeAction/resolve` (the refactor action asks for an instruction). */
  resolveCodeAction(
    item: vscode.CodeAction,
    token: vscode.CancellationToken,
    next: (item: vscode.CodeAction, token: vscode.CancellationToken) => Promise<vscode.CodeAction | undefined>,
  ): Promise<vscode.CodeAction | undefined>;
  /** Report a failure to start (one message, gated by `showNotifications`). */
  startFailed(message: string): void;
}

/** How long a stopping server gets before it is killed (ms). */
const STOP_TIMEOUT_MS = 3000;

export class ServerController implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private launched: { command: string; key: string | undefined } | undefined;
  private readonly queue = new SerialQueue();
  private force = false;
  private disposed = false;
  private requestCounter = 0;

  constructor(private readonly host: ServerHost) {}

  /** The running client, if any. */
  get running(): LanguageClient | undefined {
    return this.client?.state === State.Running ? this.client : undefined;
  }

  /**
   * (Re)start the server. `force` restarts even when nothing changed (the restart
   * command); otherwise an unchanged running server is kept.
   */
  restart(reason: string, force = false): Promise<void> {
    this.force ||= force;
    return this.queue.run(async () => {
      const forced = this.force;
      this.force = false;
      try {
        await this.doRestart(reason, forced);
      } catch (error) {
        // Never an unhandled rejection: callers fire and forget restarts.
        this.host.log.error(`Restart (${reason}) failed: ${String(error)}`);
        this.host.onClientState('failed');
      }
    });
  }

  /** Resolves when no (re)start is queued or running. */
  settled(): Promise<void> {
    return this.queue.idle();
  }

  /** Stop the server (deactivation). */
  async stop(): Promise<void> {
    this.disposed = true;
    await this.queue.idle();
    await this.stopClient();
  }

  dispose(): void {
    void this.stop();
  }

  /** Whether the running server advertises `workspace/executeCommand` `command`. */
  supports(command: string): boolean {
    const commands = this.running?.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
    return commands.includes(command);
  }

  /** A fresh `requestId` for a streamed answer (unique in this window). */
  newRequestId(): string {
    this.requestCounter += 1;
    return `vscode-${process.pid}-${this.requestCounter}`;
  }

  /** Send `workspace/executeCommand`; `token` cancels it (`$/cancelRequest`). */
  async executeCommand(command: string, args: unknown[], token?: vscode.CancellationToken): Promise<unknown> {
    const client = this.running;
    if (!client) {
      throw new Error('the MiniMax language server is not running');
    }
    return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args }, token);
  }

  private async doRestart(reason: string, forced: boolean): Promise<void> {
    if (this.disposed) {
      return;
    }
    const { log } = this.host;
    const interpreter = await this.host.prepareInterpreter();
    if (!interpreter) {
      await this.stopClient();
      this.host.onClientState('failed');
      return;
    }
    const key = await this.host.apiKey();
    const { command, args } = serverCommand(interpreter.command);
    const launch = { command: [command, ...args].join('\u0000'), key };
    if (!forced && this.running && this.launched?.command === launch.command && this.launched.key === launch.key) {
      log.debug(`restart (${reason}) skipped: interpreter and key unchanged`);
      return;
    }
    await this.stopClient();
    if (this.disposed) {
      return;
    }
    this.host.onClientState('starting');
    const env: Record<string, string | undefined> = { ...process.env };
    if (key) {
      env[API_KEY_ENV] = key;
    }
    const keySource = key ? 'VS Code secret storage' : process.env[API_KEY_ENV] ? `the ${API_KEY_ENV} environment variable` : 'none (set one with "MiniMax: Set API Key")';
    log.info(`Starting the server (${reason}): ${[command, ...args].join(' ')}`);
    log.info(`Interpreter from: ${interpreter.source}; API key: ${keySource}`);
    const executable: Executable = {
      command,
      args,
      options: { env, cwd: getWorkspaceFolders()[0]?.uri.fsPath },
    };
    const client = new LanguageClient(CLIENT_ID, SERVER_NAME, executable, this.clientOptions());
    client.onNotification(NOTIFICATIONS.status, (params: unknown) => {
      if (isServerStatus(params)) {
        this.host.onStatus(params);
      }
    });
    client.onNotification(NOTIFICATIONS.streamDelta, (params: unknown) => {
      if (isStreamDelta(params)) {
        this.host.onStreamDelta(params);
      }
    });
    client.onDidChangeState((event) => {
      if (this.client !== client) {
        return;
      }
      if (event.newState === State.Running) {
        this.host.onClientState('running');
      } else if (event.newState === State.Stopped) {
        this.host.onClientState(this.disposed ? 'stopped' : 'failed');
      }
    });
    this.client = client;
    this.launched = launch;
    try {
      await client.start();
      const result = client.initializeResult;
      log.info(`Server running: ${result?.serverInfo?.name ?? 'minimax-lsp'} ${result?.serverInfo?.version ?? ''}`.trim());
      log.info(`Server features: ${capabilitySummary(result?.capabilities as Record<string, unknown> | undefined)}`);
    } catch (error) {
      log.error(`The server did not start: ${String(error)}`);
      this.host.onClientState('failed');
      this.host.startFailed(`MiniMax: the language server did not start (${String(error)}). See the output for details.`);
    }
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.launched = undefined;
    if (!client) {
      return;
    }
    try {
      if (client.state !== State.Stopped) {
        await client.stop(STOP_TIMEOUT_MS);
      }
    } catch (error) {
      this.host.log.warn(`Stopping the server: ${String(error)}`);
    }
    try {
      await client.dispose(STOP_TIMEOUT_MS);
    } catch {
      // Already stopped or dead: nothing left to release.
    }
  }

  private serverSettings(scope?: vscode.Uri): Record<string, unknown> {
    const config = getConfiguration(SECTION, scope);
    return explicitServerSettings(serverSettingKeys(this.host.packageJson), (key) => config.inspect(key));
  }

  private clientOptions(): LanguageClientOptions {
    const host = this.host;
    return {
      documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
      outputChannel: host.channel,
      traceOutputChannel: host.channel,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: this.serverSettings(),
      markdown: { isTrusted: false, supportHtml: false },
      stdioOptions: {
        stdout: () => undefined, // stdio transport: stdout is the protocol stream
        stderr: (input) => {
          readline
            .createInterface({ input, crlfDelay: Infinity, terminal: false })
            .on('line', (line) => host.log[stderrLevel(line, this.running !== undefined)](line));
        },
      },
      middleware: {
        workspace: {
          configuration: async (params: ConfigurationParams, token, next) => {
            const answers = await next(params, token);
            if (!Array.isArray(answers)) {
              return answers;
            }
            // Our section: only what the user set, without extension-only keys.
            return params.items.map((item, i) =>
              item.section === SECTION
                ? this.serverSettings(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined)
                : (answers[i] as unknown),
            );
          },
        },
        resolveCodeAction: (item, token, next) =>
          host.resolveCodeAction(item, token, async (i, t) => (await next(i, t)) ?? undefined),
        executeCommand: (command, args, next) =>
          host.executeCommand(command, args, async (c, a) => (await next(c, a)) as unknown),
      },
    };
  }
}
