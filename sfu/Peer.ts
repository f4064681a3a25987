/**
 * One participant's connection to a room: its WebRTC transports, producers and consumers.
 * Owned by its Room; reports upward by events and never imports its parent.
 */
import { EventEmitter } from 'node:events';
import type { types as ms } from 'mediasoup';
import type { NotificationData, NotificationName, PeerInfo } from '../lib/signaling/messages.ts';

export interface PeerEvents {
  /** Server-to-client notification to deliver over signalling. */
  notify: [method: string, data: Record<string, unknown>];
  /** The peer closed; `code` is the WebSocket close code to send (lib/signaling CLOSE_CODES). */
  closed: [code: number, reason: string];
}

export type { PeerInfo };

export class Peer extends EventEmitter<PeerEvents> {
  readonly id: string;
  readonly displayName: string;
  readonly role: 'host' | 'guest';
  /** Whether this participant consented to be recorded (from the join token). */
  readonly consented: boolean;
  rtpCapabilities: ms.RtpCapabilities | undefined;
  readonly transports = new Map<string, ms.WebRtcTransport>();
  readonly producers = new Map<string, ms.Producer>();
  readonly consumers = new Map<string, ms.Consumer>();
  #closed = false;

  constructor(info: PeerInfo & { consented: boolean }) {
    super();
    this.consented = info.consented;
    this.id = info.id;
    this.displayName = info.displayName;
    this.role = info.role;
  }

  get closed(): boolean {
    return this.#closed;
  }

  info(): PeerInfo {
    return { id: this.id, displayName: this.displayName, role: this.role };
  }

  /** Pushes a typed notification to this peer's client. */
  notify<N extends NotificationName>(name: N, data: NotificationData<N>): void {
    this.emit('notify', name, data);
  }

  /** The transport the client created for receiving, if any. */
  recvTransport(): ms.WebRtcTransport | undefined {
    for (const t of this.transports.values()) if ((t.appData as { direction?: string }).direction === 'recv') return t;
    return undefined;
  }

  /** The transport `id` of this peer. @throws SignalError `unknown_transport`. */
  transport(id: string): ms.WebRtcTransport {
    const t = this.transports.get(id);
    if (!t) throw new SignalError('unknown_transport', 'No such transport.');
    return t;
  }

  /**
   * Closes every transport (and so its producers and consumers). `code` and `reason` go to
   * the client's socket (default 1000, a normal close). Safe to call twice.
   */
  close(code = 1000, reason = 'closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
    this.producers.clear();
    this.consumers.clear();
    this.emit('closed', code, reason);
  }
}

/** An error answered to the client with a stable code. */
export class SignalError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'SignalError';
    this.code = code;
  }
}
