/**
 * Where capture writes: sealed chunk bytes to object storage, their metadata to Postgres
 * through the SFU's security-definer functions (sql/050_recording.sql), under the tenant
 * the API-signed join token named. One instance per SFU process.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { withTenant, one, maybeOne, exec } from '../../server/core/db/pool.ts';
import type { ObjectStore } from '../../lib/storage/ObjectStore.ts';
import { parseWrappedKey, type KeyProvider } from '../../lib/keys/KeyProvider.ts';
import type { RtpRecord } from '../../lib/chunks/container.ts';

export interface ChunkRecord {
  trackId: string;
  seq: number;
  objectKey: string;
  size: number;
  sha256: Buffer;
  packets: number;
  firstArrival: Date;
  lastArrival: Date;
  firstRtpSeq: number;
  lastRtpSeq: number;
  firstRtpTs: number;
  lastRtpTs: number;
}

export interface TrackInfo {
  takeId: string;
  participantId: string;
  kind: 'audio' | 'video';
  mimeType: string;
  clockRate: number;
  payloadType: number;
  producerId: string;
  startedAt: Date;
}

/** Thrown when the session can no longer record (ended, deleted, key erased). */
export class SessionUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SessionUnavailableError';
  }
}

export class CaptureStore {
  readonly #pool: pg.Pool;
  readonly #objects: ObjectStore;
  readonly #keys: KeyProvider;

  constructor(pool: pg.Pool, objects: ObjectStore, keys: KeyProvider) {
    this.#pool = pool;
    this.#objects = objects;
    this.#keys = keys;
  }

  #tx<T>(orgId: string, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    return withTenant(this.#pool, { orgId, userId: null }, fn);
  }

  /**
   * Unwraps the session's data key (KMS call made outside any transaction).
   * @throws SessionUnavailableError when the session ended, was deleted or its key erased.
   */
  async sessionKey(orgId: string, sessionId: string): Promise<Buffer> {
    const row = await this.#tx(orgId, (tx) =>
      one<{ status: string; wrapped_key: unknown; key_erased_at: Date | null; deleted_at: Date | null }>(
        tx,
        'select status, wrapped_key, key_erased_at, deleted_at from app.sfu_session($1::uuid)',
        [sessionId],
      ),
    );
    if (row.status !== 'open' || !row.wrapped_key || row.key_erased_at || row.deleted_at)
      throw new SessionUnavailableError('session cannot record');
    return this.#keys.decrypt(parseWrappedKey(row.wrapped_key), { organizationId: orgId, sessionId });
  }

  /** Session status for a join: open sessions only. */
  async sessionOpen(orgId: string, sessionId: string): Promise<boolean> {
    const row = await this.#tx(orgId, (tx) =>
      one<{ status: string; deleted_at: Date | null }>(tx, 'select status, deleted_at from app.sfu_session($1::uuid)', [
        sessionId,
      ]),
    );
    return row.status === 'open' && !row.deleted_at;
  }

  /**
   * Whether a join may enter here (sql/130_fleet.sql app.sfu_admit): the session is open,
   * and placed on `nodeId` while that node is active. `claim` (the room opens here): also
   * whether recording resumes when the host joins, which is then cleared.
   */
  async admit(
    nodeId: string,
    orgId: string,
    sessionId: string,
    claim: boolean,
  ): Promise<{ open: boolean; here: boolean; resume: boolean }> {
    const r = await this.#tx(orgId, (tx) =>
      one<{ is_open: boolean; is_here: boolean; resume: boolean }>(
        tx,
        'select is_open, is_here, resume from app.sfu_admit($1::text, $2::uuid, $3::boolean)',
        [nodeId, sessionId, claim],
      ),
    );
    return { open: r.is_open, here: r.is_here, resume: r.resume };
  }

  /**
   * Opens the session's latest take again (recording resumes after a drain or failover):
   * its id, number, start, and where each participant's track goes on. Undefined: no take yet.
   */
  async continueTake(
    orgId: string,
    sessionId: string,
  ): Promise<
    | {
        takeId: string;
        seq: number;
        startedAt: Date;
        tracks: { trackId: string; participantId: string; kind: 'audio' | 'video'; nextSeq: number }[];
      }
    | undefined
  > {
    const r = await this.#tx(orgId, (tx) =>
      maybeOne<{
        take_id: string;
        take_seq: number;
        take_started_at: Date;
        take_tracks: { track_id: string; participant_id: string; kind: 'audio' | 'video'; next_seq: number }[];
      }>(tx, 'select take_id, take_seq, take_started_at, take_tracks from app.sfu_continue_take($1::uuid)', [
        sessionId,
      ]),
    );
    if (!r) return undefined;
    return {
      takeId: r.take_id,
      seq: r.take_seq,
      startedAt: r.take_started_at,
      tracks: r.take_tracks.map((t) => ({
        trackId: t.track_id,
        participantId: t.participant_id,
        kind: t.kind,
        nextSeq: t.next_seq,
      })),
    };
  }

  /** A draining node hands a session back to the fleet; `resume`: it was recording. */
  async releaseSession(nodeId: string, orgId: string, sessionId: string, resume: boolean): Promise<void> {
    await this.#tx(orgId, (tx) =>
      exec(tx, 'select app.sfu_release_session($1::text, $2::uuid, $3::boolean)', [nodeId, sessionId, resume]),
    );
  }

  async presence(orgId: string, sessionId: string, participantId: string, joined: boolean): Promise<void> {
    await this.#tx(orgId, (tx) =>
      exec(tx, 'select app.sfu_participant_presence($1::uuid, $2::uuid, $3::boolean)', [
        sessionId,
        participantId,
        joined,
      ]),
    );
  }

  async startTake(
    orgId: string,
    sessionId: string,
    participantId: string | null,
    at: Date,
  ): Promise<{ takeId: string; seq: number }> {
    const r = await this.#tx(orgId, (tx) =>
      one<{ take_id: string; take_seq: number }>(
        tx,
        'select take_id, take_seq from app.sfu_start_take($1::uuid, $2::uuid, $3::timestamptz)',
        [sessionId, participantId, at],
      ),
    );
    return { takeId: r.take_id, seq: r.take_seq };
  }

  async stopTake(
    orgId: string,
    sessionId: string,
    takeId: string,
    participantId: string | null,
    at: Date,
  ): Promise<void> {
    await this.#tx(orgId, (tx) =>
      exec(tx, 'select app.sfu_stop_take($1::uuid, $2::uuid, $3::uuid, $4::timestamptz)', [
        sessionId,
        takeId,
        participantId,
        at,
      ]),
    );
  }

  async openTrack(orgId: string, sessionId: string, t: TrackInfo): Promise<string> {
    const r = await this.#tx(orgId, (tx) =>
      one<{ id: string }>(
        tx,
        `select app.sfu_open_track($1::uuid, $2::uuid, $3::uuid, $4::text, $5::text,
                $6::int, $7::int, $8::text, $9::timestamptz) as id`,
        [
          sessionId,
          t.takeId,
          t.participantId,
          t.kind,
          t.mimeType,
          t.clockRate,
          t.payloadType,
          t.producerId,
          t.startedAt,
        ],
      ),
    );
    return r.id;
  }

  /** Stores the sealed bytes, then records the metadata (a chunk row never points at nothing). */
  async putChunk(orgId: string, sessionId: string, sealed: Buffer, c: ChunkRecord): Promise<void> {
    await this.#objects.put(c.objectKey, sealed);
    await this.#tx(orgId, (tx) =>
      exec(
        tx,
        `select app.sfu_add_chunk($1::uuid, $2::uuid, $3::int, $4::text, $5::int, $6::bytea, $7::int, $8::timestamptz,
                $9::timestamptz, $10::int, $11::int, $12::bigint, $13::bigint)`,
        [
          sessionId,
          c.trackId,
          c.seq,
          c.objectKey,
          c.size,
          c.sha256,
          c.packets,
          c.firstArrival,
          c.lastArrival,
          c.firstRtpSeq,
          c.lastRtpSeq,
          c.firstRtpTs,
          c.lastRtpTs,
        ],
      ),
    );
  }

  /** Continues a track of this take with a new producer (the participant rejoined). */
  async resumeTrack(orgId: string, sessionId: string, trackId: string, producerId: string): Promise<void> {
    await this.#tx(orgId, (tx) =>
      exec(tx, 'select app.sfu_resume_track($1::uuid, $2::uuid, $3::text)', [sessionId, trackId, producerId]),
    );
  }

  async closeTrack(orgId: string, sessionId: string, trackId: string, at: Date, lostChunks: number): Promise<void> {
    await this.#tx(orgId, (tx) =>
      exec(tx, 'select app.sfu_close_track($1::uuid, $2::uuid, $3::timestamptz, $4::int)', [
        sessionId,
        trackId,
        at,
        lostChunks,
      ]),
    );
  }

  async endSession(orgId: string, sessionId: string, participantId: string | null): Promise<void> {
    await this.#tx(orgId, (tx) =>
      exec(tx, 'select app.sfu_end_session($1::uuid, $2::uuid)', [sessionId, participantId]),
    );
  }
}

/** Object key of one chunk: grouped by org, session and track so deletion can sweep a prefix. */
export function chunkObjectKey(orgId: string, sessionId: string, trackId: string, seq: number): string {
  return `orgs/${orgId}/sessions/${sessionId}/tracks/${trackId}/${String(seq).padStart(8, '0')}.chunk`;
}

/**
 * The metadata row of one sealed chunk: where it is stored, its digest, and the arrival
 * times and RTP sequence/timestamp range of its first and last packets.
 * @throws when `records` is empty (a chunk holds at least one packet).
 */
export function chunkRecord(
  ids: { orgId: string; sessionId: string; trackId: string; seq: number },
  sealed: Buffer,
  records: readonly RtpRecord[],
): ChunkRecord {
  const first = records[0];
  const last = records.at(-1);
  if (!first || !last) throw new Error('a chunk holds at least one packet');
  return {
    trackId: ids.trackId,
    seq: ids.seq,
    objectKey: chunkObjectKey(ids.orgId, ids.sessionId, ids.trackId, ids.seq),
    size: sealed.length,
    sha256: createHash('sha256').update(sealed).digest(),
    packets: records.length,
    firstArrival: new Date(Number(first.arrivalUs / 1000n)),
    lastArrival: new Date(Number(last.arrivalUs / 1000n)),
    firstRtpSeq: first.packet.readUInt16BE(2),
    lastRtpSeq: last.packet.readUInt16BE(2),
    firstRtpTs: first.packet.readUInt32BE(4),
    lastRtpTs: last.packet.readUInt32BE(4),
  };
}
