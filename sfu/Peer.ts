/**
 * One participant's connection to a room: its WebRTC transports, producers and consumers.
 * Owned by its Room; reports upward by events and never imports its parent.
 */
import { EventEmitter } from 'node:events';
import type { types as ms } from 'mediasoup';

export interface PeerEvents {
  /** Server-to-client notification to deliver over signalling. */
  notify: [method: string, data: Record<string, unknown>];
  closed: [];
}

export interface PeerInfo {
  id: string;
  displayName: string;
  role: 'host' | 'guest';
}

export class Peer extends EventEmitter<PeerEvents> {
  readonly id: string;
  readonly displayName: string;
  readonly role: 'host' | 'guest';
  rtpCapabilities: ms.RtpCapabilities | undefined;
  readonly transports = new Map<string, ms.WebRtcTransport>();
  readonly producers = new Map<string, ms.Producer>();
  readonly consumers = new Map<string, ms.Consumer>();
  #closed = false;

  constructor(info: PeerInfo) {
    super();
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

  /** The transport the client created for receiving, if any. */
  recvTransport(): ms.WebRtcTransport | undefined {
    for (const t of this.transports.values()) if ((t.appData as { direction?: string }).direction === 'recv') return t;
    return undefined;
  }

  transport(id: unknown): ms.WebRtcTransport {
    const t = typeof id === 'string' ? this.transports.get(id) : undefined;
    if (!t) throw new SignalError('unknown_transport', 'No such transport.');
    return t;
  }

  /** Closes every transport (and so its producers and consumers). Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
    this.producers.clear();
    this.consumers.clear();
    this.emit('closed');
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
