/**
 * Browser signalling over WebSocket at `/sfu`. The first message must be `join` with an
 * API-signed join token; the token alone says which session, participant and role this
 * connection is. Requests are `{id, method, data}`, answers `{id, ok, data | error}`,
 * server pushes `{notification, data}`. Every frame is validated against the shared schemas
 * (lib/signaling/messages.ts); malformed input gets an error answer naming the field, never a
 * crash.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { verifyJoinToken, JoinTokenError } from '../../lib/tokens.ts';
import { Peer, SignalError } from '../Peer.ts';
import type { MediaService } from '../MediaService.ts';
import type { Room } from '../Room.ts';
import type { CaptureStore } from '../capture/CaptureStore.ts';
import { parseRequest } from '../../lib/signaling/messages.ts';

/** The text of a WebSocket frame, whichever buffer shape `ws` delivered it in. */
function rawText(raw: RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}

export const SIGNALING_PATH = '/sfu';
const MAX_MESSAGE = 64 * 1024;
const MAX_MESSAGES_PER_10S = 300;

export interface SignalingOptions {
  media: MediaService;
  store: CaptureStore;
  /** This node's fleet id: a token naming another node is refused, and so is a session placed elsewhere. */
  nodeId: string;
  joinKey: Buffer;
  onError?: (err: unknown) => void;
}

export class SignalingServer {
  readonly #wss: WebSocketServer;
  readonly #o: SignalingOptions;
  readonly #heartbeat: NodeJS.Timeout;

  constructor(o: SignalingOptions) {
    this.#o = o;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE });
    this.#wss.on('connection', (ws) => this.#onConnection(ws));
    this.#heartbeat = setInterval(() => {
      for (const ws of this.#wss.clients) {
        const w = ws as WebSocket & { alive?: boolean };
        if (w.alive === false) {
          w.terminate();
          continue;
        }
        w.alive = false;
        w.ping();
      }
    }, 20_000);
    this.#heartbeat.unref();
  }

  /** Routes HTTP upgrades for {@link SIGNALING_PATH} on `server` to this signalling server. */
  attach(server: http.Server): void {
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== SIGNALING_PATH) return;
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#wss.emit('connection', ws, req));
    });
  }

  #onConnection(ws: WebSocket): void {
    const w = ws as WebSocket & { alive?: boolean };
    w.alive = true;
    ws.on('pong', () => (w.alive = true));
    let peer: Peer | undefined;
    let room: Room | undefined;
    let budget = MAX_MESSAGES_PER_10S;
    const refill = setInterval(() => (budget = MAX_MESSAGES_PER_10S), 10_000);
    refill.unref();
    const send = (msg: Record<string, unknown>) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
    };
    let queue = Promise.resolve();

    ws.on('message', (raw: RawData, isBinary: boolean) => {
      if (--budget < 0) {
        ws.close(1008, 'rate limited');
        return;
      }
      // One request at a time per connection, in order.
      queue = queue.then(async () => {
        let id: number | string | null = null;
        try {
          if (isBinary) throw new SignalError('invalid_message', 'Text messages only.');
          let frame: unknown;
          try {
            frame = JSON.parse(rawText(raw));
          } catch {
            throw new SignalError('invalid_json', 'Not JSON.');
          }
          const parsed = parseRequest(frame);
          id = parsed.id;
          if (!parsed.ok) throw new SignalError(parsed.code, parsed.message);
          const req = parsed.request;
          if (req.method === 'join') {
            if (peer) throw new SignalError('already_joined', 'Already joined.');
            const claims = verifyJoinToken(this.#o.joinKey, req.data.token);
            if (claims.node !== undefined && claims.node !== this.#o.nodeId)
              throw new SignalError('session_moved', 'This session is on another media server: join again.');
            const admit = await this.#o.store.admit(this.#o.nodeId, claims.oid, claims.sid, false);
            if (!admit.open) throw new SignalError('session_ended', 'This session has ended.');
            // Placed elsewhere since the token was signed (drained, failed over): the browser asks the API again.
            if (!admit.here)
              throw new SignalError('session_moved', 'This session is on another media server: join again.');
            room = await this.#o.media.getOrCreateRoom(claims.sid, claims.oid);
            peer = new Peer({
              id: claims.pid,
              displayName: claims.name,
              role: claims.role,
              consented: !!claims.consent,
            });
            const p = peer;
            p.on('notify', (notification, nd) => send({ notification, data: nd }));
            p.on('closed', (code, reason) => {
              // After the request in progress is answered (the host's endSession closes the
              // host too, and must still get its answer), then the socket closes.
              queue = queue.then(() => {
                if (ws.readyState === ws.OPEN) ws.close(code, reason);
              });
            });
            send({ id, ok: true, data: await room.join(p) });
            return;
          }
          if (!peer || !room) throw new SignalError('not_joined', 'Join first.');
          send({ id, ok: true, data: await room.handle(peer, req) });
        } catch (err) {
          const known = err instanceof SignalError || err instanceof JoinTokenError;
          const code = known ? err.code : 'internal';
          const message = known ? err.message : 'The request failed.';
          if (code === 'internal') this.#o.onError?.(err);
          send({ id, ok: false, error: { code, message } });
        }
      });
    });
    ws.on('close', () => {
      clearInterval(refill);
      if (peer && room) room.removePeer(peer);
    });
    ws.on('error', () => undefined);
  }

  /** Closes every connection. */
  close(): void {
    clearInterval(this.#heartbeat);
    for (const ws of this.#wss.clients) ws.close(1001, 'server shutting down');
    this.#wss.close();
  }
}
