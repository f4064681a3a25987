/**
 * Prometheus metrics (prom-client), one registry per process. Nothing here carries
 * content; a per-organisation series is labelled only by {@link Metrics.orgSeries} (an HMAC
 * of the org id under the server secret, and at most METRICS_ORG_SERIES_MAX of them).
 *
 * The alert rules and the dashboard in ops/prometheus and ops/grafana refer to these names;
 * renaming one means changing them too (test/ops.test.ts checks that every name they use exists).
 */
import client from 'prom-client';
import type { Secrets } from './crypto/secrets.ts';
import { log, errorFields } from './logger.ts';

/** One row of queue statistics, read from Postgres by the jobs code at scrape time. */
export interface JobQueueStats {
  queue: string;
  queued: number;
  running: number;
  /** Age of the oldest job waiting to start, in seconds; 0 when none waits. */
  oldestQueuedAgeSeconds: number;
}

/** Reads queue statistics (one Postgres query); called at most once a second, on scrape. */
export type JobQueueSource = () => Promise<readonly JobQueueStats[]>;

export interface MetricsOptions {
  /** Distinct org series this process keeps before folding the rest into `org="other"`. Default 100. */
  orgSeriesMax?: number;
}

/** Label given to every organisation past the cap. */
export const OTHER_ORG = 'other';

export interface Metrics {
  readonly registry: client.Registry;
  readonly httpDuration: client.Histogram<'route' | 'method' | 'status'>;
  /** Requests made inside an organisation, by capped org label and status class (2xx..5xx). */
  readonly orgRequests: client.Counter<'org' | 'code_class'>;
  readonly codesSent: client.Counter;
  readonly codesFailed: client.Counter;
  readonly mailFailures: client.Counter<'kind'>;
  /** SFU (sfu/): recording sessions with a live room on this node; inc on open, dec on close. */
  readonly sessionsLive: client.Gauge;
  /** SFU: producers consumed into the capture path, by kind (audio, video). */
  readonly tracksCaptured: client.Counter<'kind'>;
  /** SFU: chunks sealed (AES-GCM) and handed to storage. */
  readonly chunksSealed: client.Counter;
  /** SFU: chunks that will never reach storage, by reason (storage_error, worker_died, overflow, ...). */
  readonly chunksLost: client.Counter<'reason'>;
  /** SFU: mediasoup workers that died unexpectedly. */
  readonly sfuWorkerDeaths: client.Counter;
  /** Jobs worker: webhook delivery attempts by outcome (delivered, retry, disabled). */
  readonly webhookAttempts: client.Counter<'outcome'>;
  /** Jobs worker: time from sending a webhook to its answer (or failure), in seconds. */
  readonly webhookLatency: client.Histogram;
  /** SFU fleet: tracks (producers) live on this node, labelled by node id. */
  readonly sfuTracksLive: client.Gauge<'node'>;
  /** SFU fleet: this node's capacity in tracks (SFU_CAPACITY_TRACKS). */
  readonly sfuCapacityTracks: client.Gauge<'node'>;
  /** SFU fleet: tracks this node can still take (capacity less each live session's tracks or reservation); 0 while draining. */
  readonly sfuHeadroomTracks: client.Gauge<'node'>;
  /** SFU fleet: 1 while this node is draining (or gone), 0 while it takes sessions. */
  readonly sfuNodeDraining: client.Gauge<'node'>;
  /** Jobs worker: failed attempts; `final="true"` when the job will not be retried. */
  readonly jobsFailed: client.Counter<'queue' | 'final'>;
  /** Jobs worker: run time of each attempt, by queue and outcome (succeeded, failed). */
  readonly jobDuration: client.Histogram<'queue' | 'outcome'>;
  /**
   * Registers where the queue gauges (queued, running, oldest age) come from; the jobs code
   * passes a function that reads Postgres. Unset: the gauges have no series.
   */
  setJobQueueSource(source: JobQueueSource | undefined): void;
  /** HMAC of an org id under the metrics key, truncated; stable per deployment. For log lines. */
  orgLabel(orgId: string): string;
  /** {@link orgLabel} for a metric label, or {@link OTHER_ORG} once the cap is reached. */
  orgSeries(orgId: string): string;
}

/**
 * prom-client's `*_total` gauges (sums of the per-type gauges it also exports) break the
 * Prometheus naming rules that `promtool check metrics` enforces; the per-type ones stay.
 */
const LINT_FAILING_DEFAULTS = [
  'recorder_nodejs_active_handles_total',
  'recorder_nodejs_active_requests_total',
  'recorder_nodejs_active_resources_total',
];

/** Creates the registry with default process metrics and the product's own. */
export function createMetrics(secrets: Secrets, opts: MetricsOptions = {}): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'recorder_' });
  for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  const registers = [registry];

  const orgLabel = (orgId: string) => secrets.hmac('metrics-org', orgId).toString('hex').slice(0, 16);
  const orgSeriesMax = opts.orgSeriesMax ?? 100;
  const orgsSeen = new Set<string>();
  const orgSeriesGauge = new client.Gauge({
    name: 'recorder_metrics_org_series',
    help: 'Distinct organisations with series of their own in this process (capped by METRICS_ORG_SERIES_MAX).',
    registers,
  });
  const orgFolded = new client.Counter({
    name: 'recorder_metrics_org_series_folded_total',
    help: 'Observations labelled org="other" because METRICS_ORG_SERIES_MAX was reached.',
    registers,
  });

  let queueSource: JobQueueSource | undefined;
  let queueRead: { at: number; stats: Promise<readonly JobQueueStats[]> } | undefined;
  // The three queue gauges share one read per scrape.
  const queueStats = (): Promise<readonly JobQueueStats[]> => {
    if (!queueSource) return Promise.resolve([]);
    if (!queueRead || Date.now() - queueRead.at > 1000) {
      // A failed read leaves the gauges empty for this scrape; /metrics itself still answers.
      const stats = queueSource().catch((err: unknown) => {
        log.warn('job queue statistics unavailable', errorFields(err));
        return [];
      });
      queueRead = { at: Date.now(), stats };
    }
    return queueRead.stats;
  };
  const queueGauge = (name: string, help: string, pick: (s: JobQueueStats) => number) =>
    new client.Gauge({
      name,
      help,
      labelNames: ['queue'] as const,
      registers,
      async collect() {
        const stats = await queueStats();
        this.reset();
        for (const s of stats) this.set({ queue: s.queue }, pick(s));
      },
    });
  queueGauge(
    'recorder_jobs_queued',
    'Jobs waiting to start, by queue (read from Postgres at scrape time).',
    (s) => s.queued,
  );
  queueGauge(
    'recorder_jobs_running',
    'Jobs being worked on, by queue (read from Postgres at scrape time).',
    (s) => s.running,
  );
  queueGauge(
    'recorder_jobs_oldest_queued_age_seconds',
    'Age of the oldest job waiting to start, by queue; 0 when none waits.',
    (s) => s.oldestQueuedAgeSeconds,
  );

  return {
    registry,
    httpDuration: new client.Histogram({
      name: 'recorder_http_request_duration_seconds',
      help: 'HTTP request latency by route template, method and status.',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    orgRequests: new client.Counter({
      name: 'recorder_http_org_requests_total',
      help: 'Requests made inside an organisation, by HMAC-labelled org (capped; the rest are org="other") and status class.',
      labelNames: ['org', 'code_class'] as const,
      registers,
    }),
    codesSent: new client.Counter({
      name: 'recorder_auth_codes_sent_total',
      help: 'Sign-in codes issued and queued for email.',
      registers,
    }),
    codesFailed: new client.Counter({
      name: 'recorder_auth_code_failures_total',
      help: 'Sign-in attempts refused (wrong, expired, used or dead code).',
      registers,
    }),
    mailFailures: new client.Counter({
      name: 'recorder_mail_failures_total',
      help: 'Outgoing emails that the mail server refused or that could not be sent.',
      labelNames: ['kind'] as const,
      registers,
    }),
    sessionsLive: new client.Gauge({
      name: 'recorder_sfu_sessions_live',
      help: 'Recording sessions with a live room on this SFU node.',
      registers,
    }),
    tracksCaptured: new client.Counter({
      name: 'recorder_sfu_tracks_captured_total',
      help: 'Tracks consumed into the capture path, by kind.',
      labelNames: ['kind'] as const,
      registers,
    }),
    chunksSealed: new client.Counter({
      name: 'recorder_sfu_chunks_sealed_total',
      help: 'Media chunks sealed and handed to storage.',
      registers,
    }),
    chunksLost: new client.Counter({
      name: 'recorder_sfu_chunks_lost_total',
      help: 'Media chunks that will never reach storage, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    sfuWorkerDeaths: new client.Counter({
      name: 'recorder_sfu_worker_deaths_total',
      help: 'mediasoup workers that died unexpectedly.',
      registers,
    }),
    webhookAttempts: new client.Counter({
      name: 'recorder_webhook_attempts_total',
      help: 'Webhook delivery attempts, by outcome: delivered, retry (to be retried), disabled (the last attempt failed).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    webhookLatency: new client.Histogram({
      name: 'recorder_webhook_latency_seconds',
      help: 'Time from sending a webhook to its answer or failure.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    sfuTracksLive: new client.Gauge({
      name: 'recorder_sfu_tracks_live',
      help: 'Tracks (producers) live on this SFU node.',
      labelNames: ['node'] as const,
      registers,
    }),
    sfuCapacityTracks: new client.Gauge({
      name: 'recorder_sfu_capacity_tracks',
      help: 'Capacity of this SFU node in tracks (SFU_CAPACITY_TRACKS).',
      labelNames: ['node'] as const,
      registers,
    }),
    sfuHeadroomTracks: new client.Gauge({
      name: 'recorder_sfu_headroom_tracks',
      help: 'Tracks this SFU node can still take: capacity less each live session (its tracks, at least the per-session reservation); 0 while draining.',
      labelNames: ['node'] as const,
      registers,
    }),
    sfuNodeDraining: new client.Gauge({
      name: 'recorder_sfu_node_draining',
      help: '1 while this SFU node is draining (takes no new sessions), else 0.',
      labelNames: ['node'] as const,
      registers,
    }),
    jobsFailed: new client.Counter({
      name: 'recorder_jobs_failed_total',
      help: 'Failed job attempts, by queue; final="true" when the job will not be retried.',
      labelNames: ['queue', 'final'] as const,
      registers,
    }),
    jobDuration: new client.Histogram({
      name: 'recorder_job_duration_seconds',
      help: 'Run time of job attempts, by queue and outcome.',
      labelNames: ['queue', 'outcome'] as const,
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 10800],
      registers,
    }),
    setJobQueueSource(source) {
      queueSource = source;
      queueRead = undefined;
    },
    orgLabel,
    orgSeries(orgId) {
      const label = orgLabel(orgId);
      if (orgsSeen.has(label)) return label;
      if (orgsSeen.size < orgSeriesMax) {
        orgsSeen.add(label);
        orgSeriesGauge.set(orgsSeen.size);
        return label;
      }
      orgFolded.inc();
      return OTHER_ORG;
    },
  };
}
