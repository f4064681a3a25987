/**
 * The browser end of the SFU's WebSocket signalling (lib/signaling/messages.ts defines the
 * frames for both ends): requests answered by id, notifications validated against the shared
 * schemas before they reach the room.
 */
import {
  notificationData,
  type NotificationData,
  type NotificationName,
  type RequestData,
  type RequestMethod,
} from '../../lib/signaling/messages.ts';

/** A refusal from the SFU, with its stable code. */
export class SignalError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Receives each valid notification, narrowed by name. */
export type NotificationHandler = <N extends NotificationName>(name: N, data: NotificationData<N>) => void;

interface Pending {
  resolve: (data: Record<string, unknown>) => void;
  reject: (err: Error) => void;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNotificationName(name: string): name is NotificationName {
  return Object.hasOwn(notificationData, name);
}

/** The URL of the signalling socket: the API names it, or the same origin's `/sfu`. */
export function signalingUrl(sfuUrl: string | null | undefined): string {
  return sfuUrl || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sfu`;
}

/** One signalling connection. */
export class Signaling {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  /** Called for every notification that matches its schema. */
  onNotification: NotificationHandler = () => undefined;
  /** Called once when the socket closes, with the close code (1006 when it dropped). */
  onClose: (code: number) => void = () => undefined;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (ev: MessageEvent<string>) => this.#onMessage(ev.data);
    ws.onclose = (ev) => {
      for (const p of this.#pending.values()) p.reject(new SignalError('disconnected', 'The connection dropped.'));
      this.#pending.clear();
      this.onClose(ev.code);
    };
  }

  /**
   * Opens the socket.
   * @throws SignalError `unreachable` when the media server cannot be reached.
   */
  static connect(url: string, timeoutMs = 10_000): Promise<Signaling> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => {
        ws.close();
        reject(new SignalError('unreachable', 'Cannot reach the media server.'));
      }, timeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve(new Signaling(ws));
      };
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new SignalError('unreachable', 'Cannot reach the media server.'));
      };
    });
  }

  /** Whether the socket is open. */
  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /**
   * Sends a request and waits for its answer's data.
   * @throws SignalError with the SFU's code, or `disconnected` when the socket closes first.
   */
  request<M extends RequestMethod>(method: M, data: RequestData<M>): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      if (!this.open) {
        reject(new SignalError('disconnected', 'Not connected to the media server.'));
        return;
      }
      const id = this.#next++;
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ id, method, data }));
    });
  }

  /** Closes the socket (no reconnect follows from this side). */
  close(): void {
    this.#ws.close(1000, 'left');
  }

  #onMessage(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (!isRecord(msg)) return;
    if (typeof msg.notification === 'string') {
      const name = msg.notification;
      if (!isNotificationName(name)) return;
      const parsed = notificationData[name].safeParse(msg.data ?? {});
      // An older SFU may send a looser shape; the room copes with partial data for these.
      if (parsed.success) this.onNotification(name, parsed.data);
      else if (name === 'sessionEnded') this.onNotification('sessionEnded', { by: 'host' });
      else if (name === 'recordingState' && isRecord(msg.data))
        this.onNotification('recordingState', looseRecordingState(msg.data));
      return;
    }
    if (typeof msg.id !== 'number') return;
    const p = this.#pending.get(msg.id);
    if (!p) return;
    this.#pending.delete(msg.id);
    if (msg.ok === true) p.resolve(isRecord(msg.data) ? msg.data : {});
    else {
      const err = isRecord(msg.error) ? msg.error : {};
      p.reject(
        new SignalError(
          typeof err.code === 'string' ? err.code : 'failed',
          typeof err.message === 'string' ? err.message : 'The request failed.',
        ),
      );
    }
  }
}

/** A recording state from a field-by-field reading of `d` (older SFUs send fewer fields). */
export function looseRecordingState(d: Record<string, unknown>): NotificationData<'recordingState'> {
  const recording = d.recording === true || isRecord(d.recording);
  const inner = isRecord(d.recording) ? d.recording : d;
  const startedAt = typeof inner.startedAt === 'string' ? inner.startedAt : null;
  const elapsedMs =
    typeof inner.elapsedMs === 'number'
      ? inner.elapsedMs
      : recording && startedAt
        ? Math.max(0, Date.now() - Date.parse(startedAt))
        : 0;
  return { recording, take: typeof inner.take === 'number' ? inner.take : null, startedAt, elapsedMs };
}
