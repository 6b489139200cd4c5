/**
 * A minimal stand-in for the `vscode` module, aliased in by scripts/build.mjs for the
 * unit test bundles. It implements just what the tested modules touch and records
 * what they do (`stub.items`), so tests can assert on it.
 */

type Listener<T> = (value: T) => unknown;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  readonly event = (listener: Listener<T>) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(value: T): void {
    for (const l of [...this.listeners]) {
      l(value);
    }
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}

export interface FakeStatusBarItem {
  id: string;
  name?: string;
  text: string;
  tooltip?: string;
  command?: string;
  backgroundColor?: ThemeColor;
  visible: boolean;
  show(): void;
  hide(): void;
  dispose(): void;
}

const activeEditorChanged = new EventEmitter<unknown>();

/** What the tests control and inspect. */
export const stub = {
  items: [] as FakeStatusBarItem[],
  activeEditor: undefined as undefined | { document: { uri: { toString(): string } } },
  setActiveEditorUri(uri: string | undefined): void {
    stub.activeEditor = uri === undefined ? undefined : { document: { uri: { toString: () => uri } } };
    activeEditorChanged.fire(stub.activeEditor);
  },
};

export const window = {
  get activeTextEditor() {
    return stub.activeEditor;
  },
  onDidChangeActiveTextEditor: activeEditorChanged.event,
  createStatusBarItem(id: string): FakeStatusBarItem {
    const item: FakeStatusBarItem = {
      id,
      text: '',
      visible: false,
      show() {
        item.visible = true;
      },
      hide() {
        item.visible = false;
      },
      dispose() {
        item.visible = false;
      },
    };
    stub.items.push(item);
    return item;
  },
};

/** Parts of the API the tested modules import but the tests never reach. */
function unused(name: string): never {
  throw new Error(`vscode.${name} is not stubbed`);
}
export const workspace = {
  getConfiguration: () => unused('workspace.getConfiguration'),
  onDidChangeConfiguration: () => unused('workspace.onDidChangeConfiguration'),
};
export const commands = {
  registerCommand: () => unused('commands.registerCommand'),
  executeCommand: () => unused('commands.executeCommand'),
};
export const env = { clipboard: { writeText: () => unused('env.clipboard') } };
export const extensions = { getExtension: () => undefined };
export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}
