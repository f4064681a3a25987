/**
 * The signalling protocol between the browser and the SFU, defined once. The SFU validates
 * every incoming frame against these schemas (sfu/signaling/SignalingServer.ts); the browser
 * code in web-src/ imports the same schemas and types. docs/studio-protocol.md describes it.
 *
 * Frames: a request `{id, method, data}` is answered `{id, ok: true, data}` or
 * `{id, ok: false, error: {code, message}}`; the SFU pushes `{notification, data}`.
 * mediasoup's own parameter objects (RTP capabilities, DTLS parameters, RTP parameters) are
 * checked for shape only: mediasoup validates their contents and answers a clear error.
 */
import { z } from 'zod';

const id = z.string().min(1).max(64);
/** A mediasoup parameter object: an object, contents checked by mediasoup itself. */
const msObject = z.record(z.string(), z.unknown());

/** The envelope every client frame must have. */
export const requestFrame = z.object({
  id: z.union([z.number().int(), z.string().max(64)]),
  method: z.string().min(1).max(64),
  data: z.record(z.string(), z.unknown()).default({}),
});

/** Data of each request the SFU accepts, by method. */
export const requestData = {
  join: z.object({ token: z.string().min(1).max(2048) }),
  setRtpCapabilities: z.object({ rtpCapabilities: msObject }),
  createTransport: z.object({ direction: z.enum(['send', 'recv']) }),
  connectTransport: z.object({ transportId: id, dtlsParameters: msObject }),
  produce: z.object({ transportId: id, kind: z.enum(['audio', 'video']), rtpParameters: msObject }),
  resumeConsumer: z.object({ consumerId: id }),
  setProducerPaused: z.object({ producerId: id, paused: z.boolean() }),
  startRecording: z.object({}),
  stopRecording: z.object({}),
  endSession: z.object({}),
  removePeer: z.object({ peerId: z.uuid() }),
} as const;

/** A request method name. */
export type RequestMethod = keyof typeof requestData;
/** The validated data of request `M`. */
export type RequestData<M extends RequestMethod> = z.infer<(typeof requestData)[M]>;

/** A validated request: its method and that method's data, narrowed together. */
export type SignalRequest = { [M in RequestMethod]: { method: M; data: RequestData<M> } }[RequestMethod];

/** True when `method` is one the SFU knows. */
export function isRequestMethod(method: string): method is RequestMethod {
  return Object.hasOwn(requestData, method);
}

/** The result of {@link parseRequest}: the request, or a stable error code and message. */
export type ParsedRequest =
  | { ok: true; id: number | string; request: SignalRequest }
  | { ok: false; id: number | string | null; code: 'invalid_message' | 'unknown_method'; message: string };

/**
 * Validates one decoded client frame: the envelope, a known method, and that method's data.
 * Never throws; the error names the fields that are wrong.
 */
export function parseRequest(frame: unknown): ParsedRequest {
  const env = requestFrame.safeParse(frame);
  if (!env.success) {
    const raw = typeof frame === 'object' && frame !== null ? (frame as { id?: unknown }).id : undefined;
    const id = typeof raw === 'number' || typeof raw === 'string' ? raw : null;
    return { ok: false, id, code: 'invalid_message', message: describeIssues(env.error) };
  }
  const { id, method, data } = env.data;
  if (!isRequestMethod(method)) return { ok: false, id, code: 'unknown_method', message: `Unknown method ${method}.` };
  const parsed = requestData[method].safeParse(data);
  if (!parsed.success)
    return { ok: false, id, code: 'invalid_message', message: `${method}: ${describeIssues(parsed.error)}` };
  // The schema for `method` produced `parsed.data`, so the pair is consistent.
  return { ok: true, id, request: { method, data: parsed.data } as SignalRequest };
}

/** Who is in the room. */
export const peerInfo = z.object({
  id: z.string(),
  displayName: z.string(),
  role: z.enum(['host', 'guest']),
});
export type PeerInfo = z.infer<typeof peerInfo>;

/** Recording state every participant sees: the indicator and the timer. */
export const recordingState = z.object({
  recording: z.boolean(),
  /** The take's number in the session, or null before the first take. */
  take: z.number().int().nullable(),
  /** When the current take started (ISO), null when not recording. */
  startedAt: z.string().nullable(),
  /** Milliseconds recorded in the current take when the SFU sent this; 0 when not recording. */
  elapsedMs: z.number(),
});
export type RecordingState = z.infer<typeof recordingState>;

/** The answer to `join`. */
export const joinAnswer = z.object({
  peerId: z.string(),
  role: z.enum(['host', 'guest']),
  routerRtpCapabilities: msObject,
  peers: z.array(peerInfo),
  recording: recordingState,
});
export type JoinAnswer = z.infer<typeof joinAnswer>;

/** Live health of one captured track, pushed to hosts about once a second. */
export const trackHealth = z.object({
  trackId: z.string(),
  peerId: z.string(),
  displayName: z.string(),
  kind: z.enum(['audio', 'video']),
  packetsPerSecond: z.number(),
  /** Packets lost (RTP sequence gaps) as a percentage of expected, over the last interval. */
  lossPercent: z.number(),
  /** Seconds since the last chunk was sealed and stored; null before the first. */
  secondsSinceLastChunk: z.number().nullable(),
  /** Seconds of media captured so far on this track (first to last packet arrival). */
  secondsCaptured: z.number(),
  /** No packet for more than 2 s. */
  stalled: z.boolean(),
});
export type TrackHealth = z.infer<typeof trackHealth>;

/** Data of each notification the SFU pushes, by name. */
export const notificationData = {
  peerJoined: z.object({ peer: peerInfo }),
  peerLeft: z.object({ peerId: z.string() }),
  newConsumer: z.object({
    consumerId: z.string(),
    producerId: z.string(),
    peerId: z.string(),
    kind: z.enum(['audio', 'video']),
    rtpParameters: msObject,
  }),
  consumerClosed: z.object({ consumerId: z.string() }),
  producerPaused: z.object({ peerId: z.string(), producerId: z.string(), paused: z.boolean() }),
  recordingState,
  sessionEnded: z.object({ by: z.enum(['host', 'api']) }),
  removed: z.object({}),
  sessionInterrupted: z.object({}),
  /** The session moves to another media server (this one is draining): reconnect now. */
  moved: z.object({}),
  trackHealth: z.object({ tracks: z.array(trackHealth) }),
  audioLevels: z.object({ levels: z.array(z.object({ peerId: z.string(), volume: z.number() })) }),
} as const;

/** A notification name. */
export type NotificationName = keyof typeof notificationData;
/** The data of notification `N`. */
export type NotificationData<N extends NotificationName> = z.infer<(typeof notificationData)[N]>;

/** WebSocket close codes the SFU uses; a client reconnects on any other code. */
export const CLOSE_CODES = {
  /** The session ended (host, or the session page): do not reconnect. */
  sessionEnded: 4000,
  /** The host removed this participant: do not reconnect. */
  removed: 4001,
  /** A newer connection of the same participant took over: do not reconnect. */
  replaced: 4002,
  /** The session moved to another media server: reconnect at once (the API names the new one). */
  moved: 4003,
} as const;

/** Whether a client should reconnect after the socket closed with `code`. */
export function shouldReconnect(code: number): boolean {
  return code === CLOSE_CODES.moved || !(Object.values(CLOSE_CODES) as number[]).includes(code);
}

/** Readable one-line description of a zod failure, naming the fields. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'message'}: ${i.message}`)
    .join('; ');
}
