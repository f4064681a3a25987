/**
 * This SFU node's place in the fleet (sql/130_fleet.sql). One dedicated Postgres connection
 * (the SFU duty role) holds the node's advisory lock for as long as the process lives:
 * when the process dies, SIGKILL included, Postgres drops the lock with the connection and
 * the next placement declares the node gone at once. On that connection the node registers
 * (recovering what its previous process left recording) and heartbeats every second with
 * its live sessions and their tracks; the answer says whether it is draining and which of
 * its rooms must close (the session ended elsewhere, or moved to another node).
 */
import { EventEmitter } from 'node:events';
import type pg from 'pg';

/** The advisory-lock class of node liveness locks (issue #15); sql/130_fleet.sql uses the same. */
export const FLEET_LOCK_CLASS = 15015;

export interface NodeRegistryOptions {
  nodeId: string;
  /** WebSocket URL browsers signal at; null: the API's own origin (/sfu). */
  signalUrl: string | null;
  mediaAddress: string | null;
  capacityTracks: number;
  reserveTracks: number;
  goneAfterS: number;
  /** Interrupted sessions nobody reconnects to within this are ended. */
  graceS: number;
  heartbeatMs?: number;
  /** The live sessions and their track counts, read at each heartbeat. */
  live: () => { sessionId: string; tracks: number }[];
}

/** A session a previous process of this node left recording (or still waiting for its people). */
export interface RecoveredSession {
  sessionId: string;
  orgId: string;
  take: number | null;
  recoveredTo: Date | null;
}

export type NodeState = 'active' | 'draining' | 'gone';

export interface NodeRegistryEvents {
  /** The node's state changed (an operator drained it or made it active again). */
  state: [state: NodeState];
  /** A live room here must close: its session ended elsewhere, or it was placed on another node. */
  close: [sessionId: string, reason: 'ended' | 'moved'];
  /** A heartbeat failed (the database is unreachable); the next one retries. */
  error: [error: unknown];
}

export class NodeRegistry extends EventEmitter<NodeRegistryEvents> {
  readonly #o: NodeRegistryOptions;
  readonly #pool: pg.Pool;
  #client: pg.PoolClient | undefined;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  #state: NodeState = 'active';
  #closed = false;

  private constructor(pool: pg.Pool, o: NodeRegistryOptions) {
    super();
    this.#pool = pool;
    this.#o = o;
  }

  /**
   * Takes the node's lock, registers it active, and returns what its previous process left
   * recording (closed at the last sealed chunk, marked to resume on the host's return).
   * @throws when another live process holds this node id, or the database refuses.
   */
  static async start(
    pool: pg.Pool,
    o: NodeRegistryOptions,
  ): Promise<{ registry: NodeRegistry; recovered: RecoveredSession[] }> {
    const registry = new NodeRegistry(pool, o);
    await registry.#lock();
    let r;
    try {
      r = await registry.#query<{
        session_id: string;
        organization_id: string;
        take_seq: number | null;
        recovered_to: Date | null;
      }>(
        'select session_id, organization_id, take_seq, recovered_to from app.sfu_register_node($1, $2, $3, $4, $5, $6)',
        [o.nodeId, o.signalUrl, o.mediaAddress, o.capacityTracks, o.reserveTracks, o.goneAfterS],
      );
    } catch (err) {
      await registry.close();
      throw err;
    }
    registry.#timer = setInterval(() => void registry.beat(), o.heartbeatMs ?? 1000);
    registry.#timer.unref();
    return {
      registry,
      recovered: r.rows.map((x) => ({
        sessionId: x.session_id,
        orgId: x.organization_id,
        take: x.take_seq,
        recoveredTo: x.recovered_to,
      })),
    };
  }

  get nodeId(): string {
    return this.#o.nodeId;
  }
  get state(): NodeState {
    return this.#state;
  }

  async #lock(): Promise<void> {
    const client = await this.#pool.connect();
    client.on('error', () => {
      // The connection (and with it the lock) is lost: the next heartbeat takes both again.
      if (this.#client === client) this.#client = undefined;
      client.release(true);
    });
    const r = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, app.fleet_lock_key($2)) as ok', [
      FLEET_LOCK_CLASS,
      this.#o.nodeId,
    ]);
    if (!r.rows[0]?.ok) {
      client.release();
      throw new Error(`another live SFU process holds node id ${this.#o.nodeId} (set SFU_NODE_ID to a unique value)`);
    }
    this.#client = client;
  }

  async #query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    if (!this.#client) await this.#lock();
    const client = this.#client;
    if (!client) throw new Error('no fleet connection');
    return client.query<R>(text, values);
  }

  /** One heartbeat now (also what the timer runs). Never throws; failures are `error` events. */
  beat(): Promise<void> {
    this.#beating ??= this.#beat().finally(() => (this.#beating = undefined));
    return this.#beating;
  }

  async #beat(): Promise<void> {
    if (this.#closed) return;
    const live = this.#o.live();
    try {
      const r = await this.#query<{
        answer: { state: NodeState; close: { session_id: string; reason: 'ended' | 'moved' }[] };
      }>('select app.sfu_heartbeat($1, $2::uuid[], $3::int[], $4) as answer', [
        this.#o.nodeId,
        live.map((l) => l.sessionId),
        live.map((l) => l.tracks),
        this.#o.graceS,
      ]);
      const answer = r.rows[0]?.answer;
      if (!answer || this.#closed) return;
      if (answer.state !== this.#state) {
        this.#state = answer.state;
        this.emit('state', answer.state);
      }
      for (const c of answer.close) this.emit('close', c.session_id, c.reason);
    } catch (err) {
      this.emit('error', err);
    }
  }

  /** Stops heartbeating and releases the lock (a clean stop: the node is gone at once). Safe twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#beating;
    const client = this.#client;
    this.#client = undefined;
    if (client) {
      await client.query('select pg_advisory_unlock_all()').catch(() => undefined);
      client.release();
    }
  }
}
