/**
 * The extension's log: one `LogOutputChannel` ("MiniMax") shared with the language
 * client, so the server's stderr, its `window/logMessage` lines, the LSP trace
 * (`minimax.trace.server`) and the extension's own messages read as one story.
 * The channel's level follows VS Code's "Developer: Set Log Level" (trace ... error).
 *
 * Every message the extension writes goes through `redact` first: the API key is never
 * logged on purpose, and redaction makes sure an error text quoting it cannot leak it.
 */

/** The subset of `vscode.LogOutputChannel` used here (stubbed in unit tests). */
export interface LogSink {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Leveled logging with secret redaction. */
export interface Logger {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string | Error): void;
}

/** Secrets shorter than this are not redacted (they would mangle ordinary words). */
const MIN_SECRET_LENGTH = 6;

/** `text` with every occurrence of each secret replaced by `***`. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= MIN_SECRET_LENGTH) {
      out = out.split(secret).join('***');
    }
  }
  return out;
}

/**
 * A `Logger` writing to `sink`.
 *
 * @param sink The output channel.
 * @param secrets Returns the secrets to redact at the time of each call (the key can
 *   change while the extension runs).
 */
export function createLogger(sink: LogSink, secrets: () => readonly (string | undefined)[]): Logger {
  const clean = (message: string | Error): string =>
    redact(message instanceof Error ? (message.stack ?? message.message) : message, secrets());
  return {
    trace: (m) => sink.trace(clean(m)),
    debug: (m) => sink.debug(clean(m)),
    info: (m) => sink.info(clean(m)),
    warn: (m) => sink.warn(clean(m)),
    error: (m) => sink.error(clean(m)),
  };
}

/** A server log line on stderr: `HH:MM:SS.mmm LEVEL logger: message`. */
const SERVER_LINE = /^\d{2}:\d{2}:\d{2}(?:\.\d+)? (DEBUG|INFO|WARNING|ERROR|CRITICAL) /;

/**
 * The channel level for one line the server wrote to stderr.
 *
 * Once the client runs, the server's INFO+ records also arrive as `window/logMessage`
 * (with their own levels), so their stderr copies go to `trace` (visible when asked
 * for, never doubled). DEBUG records exist only on stderr: `debug`. Before the client
 * runs there is no logMessage yet, so warnings and errors keep their level. Anything
 * that is not a log record (a traceback, an interpreter error) is an `error`.
 */
export function stderrLevel(line: string, clientRunning: boolean): 'trace' | 'debug' | 'warn' | 'error' {
  const match = SERVER_LINE.exec(line);
  if (!match) {
    return line.trim() ? 'error' : 'trace';
  }
  const level = match[1];
  if (level === 'DEBUG') {
    return 'debug';
  }
  if (clientRunning || level === 'INFO') {
    return 'trace';
  }
  return level === 'WARNING' ? 'warn' : 'error';
}
