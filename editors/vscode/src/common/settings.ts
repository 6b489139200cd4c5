/**
 * Settings: what the extension reads for itself, and what it hands to the server.
 *
 * Contract
 * - The server owns its defaults. The extension sends only the values the user set
 *   explicitly (user, workspace or folder settings), never the defaults contributed in
 *   package.json: a default sent as a value would outrank the server's environment
 *   layer (`MINIMAX_BASE_URL`, `MINIMAX_MODEL`), see docs/settings.md for precedence.
 * - Extension-only settings (`minimax.interpreter`, `minimax.trace.server`) are never
 *   sent to the server.
 * - The API key is not a setting at all (SecretStorage, see server.ts).
 * - Only an interpreter change restarts the server; every other change reaches it as
 *   `workspace/didChangeConfiguration` and is applied without a restart.
 *
 * Everything here is pure (no `vscode` import) so it is unit tested under plain Node.
 */

import { EXTENSION_ONLY_SETTINGS, SECTION } from './constants';

/** `minimax.showNotifications`: which pop-ups the user sees. */
export type NotificationLevel = 'off' | 'onError' | 'always';

/** The severity of something the extension could pop up. */
export type Severity = 'error' | 'warning' | 'info';

/** Settings the extension itself acts on. */
export interface ExtensionSettings {
  /** Command that runs Python (program + fixed arguments); empty = discover one. */
  readonly interpreter: readonly string[];
  readonly showNotifications: NotificationLevel;
}

/** The values of one setting at each scope (a subset of `WorkspaceConfiguration.inspect`). */
export interface Inspection {
  readonly globalValue?: unknown;
  readonly workspaceValue?: unknown;
  readonly workspaceFolderValue?: unknown;
}

/** A JSON object as sent to the server. */
export type JsonObject = { [key: string]: unknown };

const LEVELS: readonly NotificationLevel[] = ['off', 'onError', 'always'];

/**
 * The interpreter setting as a command: a string is one program path, an array is a
 * program plus arguments. Blank entries are dropped; anything else means "not set".
 */
export function parseInterpreter(value: unknown): string[] {
  if (typeof value === 'string') {
    return value.trim() ? [value.trim()] : [];
  }
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return value.map((v) => v.trim()).filter((v) => v.length > 0);
  }
  return [];
}

/**
 * Expand `${workspaceFolder}`, `${userHome}`, `${env:NAME}` and a leading `~/` in each
 * part of a command, the way VS Code's own settings do.
 */
export function substituteVariables(
  parts: readonly string[],
  vars: { workspaceFolder?: string; userHome: string; env: Readonly<Record<string, string | undefined>> },
): string[] {
  return parts.map((part) => {
    let out = part.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => vars.env[name] ?? '');
    out = out.replace(/\$\{userHome\}/g, vars.userHome);
    if (vars.workspaceFolder !== undefined) {
      out = out.replace(/\$\{workspaceFolder\}/g, vars.workspaceFolder);
    }
    if (out === '~' || out.startsWith('~/')) {
      out = vars.userHome + out.slice(1);
    }
    return out;
  });
}

/** `minimax.showNotifications`, defaulting to `onError` for a missing or bad value. */
export function parseNotificationLevel(value: unknown): NotificationLevel {
  return LEVELS.includes(value as NotificationLevel) ? (value as NotificationLevel) : 'onError';
}

/** Whether a pop-up of `severity` may be shown under `level`. */
export function shouldNotify(level: NotificationLevel, severity: Severity): boolean {
  switch (level) {
    case 'off':
      return false;
    case 'onError':
      return severity !== 'info';
    case 'always':
      return true;
  }
}

/** Read the extension's own settings through a `get(key)` accessor of section `minimax`. */
export function readExtensionSettings(get: (key: string) => unknown): ExtensionSettings {
  return {
    interpreter: parseInterpreter(get('interpreter')),
    showNotifications: parseNotificationLevel(get('showNotifications')),
  };
}

/**
 * The server setting keys (relative to `minimax.`, dotted) contributed in package.json,
 * extension-only settings left out.
 */
export function serverSettingKeys(packageJson: unknown): string[] {
  const contributes = (packageJson as { contributes?: { configuration?: unknown } }).contributes;
  const configuration = contributes?.configuration;
  const sections = Array.isArray(configuration) ? configuration : configuration ? [configuration] : [];
  const keys: string[] = [];
  for (const section of sections) {
    const properties = (section as { properties?: Record<string, unknown> }).properties ?? {};
    for (const name of Object.keys(properties)) {
      if (!name.startsWith(`${SECTION}.`)) {
        continue;
      }
      const key = name.slice(SECTION.length + 1);
      if (!EXTENSION_ONLY_SETTINGS.includes(key)) {
        keys.push(key);
      }
    }
  }
  return keys.sort();
}

/**
 * The settings the user set explicitly, as the nested camelCase object the server reads
 * (`tasks.chat.budget` -> `{tasks: {chat: {budget}}}`). The narrowest scope wins:
 * folder > workspace > user. Keys never set are left out, so the server's own layers
 * (environment, defaults) apply to them.
 */
export function explicitServerSettings(
  keys: readonly string[],
  inspect: (key: string) => Inspection | undefined,
): JsonObject {
  const result: JsonObject = {};
  for (const key of keys) {
    const info = inspect(key);
    if (!info) {
      continue;
    }
    const value = info.workspaceFolderValue ?? info.workspaceValue ?? info.globalValue;
    if (value === undefined) {
      continue;
    }
    setPath(result, key.split('.'), clone(value));
  }
  return result;
}

function setPath(target: JsonObject, path: readonly string[], value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      node[part] = {};
    }
    node = node[part] as JsonObject;
  }
  node[path[path.length - 1]] = value;
}

/** A plain JSON copy (VS Code hands out frozen proxies). */
function clone(value: unknown): unknown {
  return value === null || typeof value !== 'object' ? value : (JSON.parse(JSON.stringify(value)) as unknown);
}

/** Whether a configuration change needs a server restart (only the interpreter does). */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return affects(`${SECTION}.interpreter`);
}
