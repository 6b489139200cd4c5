/**
 * Routing `minimax/streamDelta {requestId, text, kind?}` notifications to the answer
 * that is waiting for them.
 *
 * A sink is opened before its request is sent, with the `requestId` the extension put
 * in that command's arguments (the server echoes it in every delta). A delta goes to the
 * sink holding its `requestId`; a delta with an id nobody holds goes to the oldest sink
 * that has not received anything yet (a server that numbers its streams itself), which
 * then keeps that id. Deltas for closed or unknown streams are dropped: the final
 * command result is authoritative anyway.
 *
 * `kind` is `"thinking"` for the model's reasoning (shown folded away, never inserted
 * anywhere); any other value or none is answer text.
 */

/** One `minimax/streamDelta` payload. */
export interface StreamDelta {
  readonly requestId: string | number;
  readonly text: string;
  readonly kind?: string;
}

/** Where the text of one answer goes. */
export interface StreamSink {
  onText(text: string): void;
  onThinking(text: string): void;
}

/** An open stream (returned by `open`, passed to `close`). */
export interface StreamHandle {
  readonly sink: StreamSink;
  readonly ids: Set<string>;
  seen: boolean;
}

/** Check the shape of a notification's params (they come from another process). */
export function isStreamDelta(value: unknown): value is StreamDelta {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const v = value as Record<string, unknown>;
  return (
    (typeof v.requestId === 'string' || typeof v.requestId === 'number') &&
    typeof v.text === 'string' &&
    (v.kind === undefined || v.kind === null || typeof v.kind === 'string')
  );
}

export class StreamRouter {
  private readonly streams: StreamHandle[] = [];

  /** Open a stream for a request about to be sent (`id`: its work-done token). */
  open(sink: StreamSink, id?: string | number): StreamHandle {
    const handle: StreamHandle = { sink, ids: new Set(id === undefined ? [] : [String(id)]), seen: false };
    this.streams.push(handle);
    return handle;
  }

  /** Forget a stream (its request finished, failed or was cancelled). */
  close(handle: StreamHandle): void {
    const index = this.streams.indexOf(handle);
    if (index >= 0) {
      this.streams.splice(index, 1);
    }
  }

  /** Route one delta; returns whether a sink took it. */
  deliver(delta: StreamDelta): boolean {
    const id = String(delta.requestId);
    const handle = this.streams.find((s) => s.ids.has(id)) ?? this.streams.find((s) => !s.seen);
    if (!handle) {
      return false;
    }
    handle.ids.add(id);
    handle.seen = true;
    if (delta.kind === 'thinking') {
      handle.sink.onThinking(delta.text);
    } else {
      handle.sink.onText(delta.text);
    }
    return true;
  }

  /** Number of open streams (for tests and diagnostics). */
  get size(): number {
    return this.streams.length;
  }
}
