/**
 * The only reader of `process.env`. Every setting the product takes is parsed here with zod
 * into one frozen object; bad configuration lists every problem and stops start-up.
 * Each variable is documented in README.md ("Configuration").
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const duration = z.coerce.number().int().positive();

/** BILLING_PLANS: a JSON array, e.g. `[{"id":"pro","name":"Pro","price":"price_123","recording_hours":100}]`. */
const billingPlans = z
  .string()
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of plans' });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .array(
        z
          .object({
            id: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'plan id: lower-case letters, digits, - and _'),
            name: z.string().min(1).max(60).optional(),
            price: z.string().regex(/^price_[A-Za-z0-9_]+$/, 'must be a Stripe price id (price_...)'),
            recording_hours: z.number().nonnegative().nullable().default(null),
          })
          .strict(),
      )
      .min(1)
      .refine(
        (a) => new Set(a.map((p) => p.id)).size === a.length && new Set(a.map((p) => p.price)).size === a.length,
        'plan ids and prices must be unique',
      ),
  );

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).default('127.0.0.1'),
    PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
    DATA_DIR: z.string().min(1).default('./data'),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    DATABASE_APP_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
    SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
    MAIL_FROM: z.string().min(3).default('Recorder <no-reply@localhost>'),
    SERVER_SECRET: z.string().min(32, 'SERVER_SECRET must be at least 32 characters').optional(),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
    TRUST_PROXY: bool.default(false),
    SESSION_IDLE_TTL_S: duration.default(7 * 24 * 3600),
    SESSION_ABSOLUTE_TTL_S: duration.default(30 * 24 * 3600),
    LOGIN_CODE_TTL_S: duration.default(600),
    LOGIN_CODE_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
    RATE_LIMIT_CODES_PER_EMAIL: z.coerce.number().int().min(1).default(5),
    RATE_LIMIT_CODES_PER_CLIENT: z.coerce.number().int().min(1).default(20),
    RATE_LIMIT_VERIFY_PER_CLIENT: z.coerce.number().int().min(1).default(30),
    RATE_LIMIT_KEY_HASHES_PER_CLIENT: z.coerce.number().int().min(1).default(100),
    RATE_LIMIT_WINDOW_S: duration.default(900),
    INVITATION_TTL_S: duration.default(7 * 24 * 3600),
    SFU: z.enum(['auto', 'on', 'off']).default('auto'),
    SFU_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
    SFU_WORKERS: z.coerce.number().int().min(1).max(256).optional(),
    SFU_LISTEN_IP: z.union([z.ipv4(), z.ipv6()]).default('127.0.0.1'),
    SFU_ANNOUNCED_ADDRESS: z.string().min(1).max(253).optional(),
    SFU_RTC_PORT: z.coerce.number().int().min(0).max(65535).default(40000),
    SFU_PUBLIC_URL: z.url({ protocol: /^wss?$/ }).optional(),
    MEDIASOUP_WORKER_BIN: z.string().min(1).optional(),
    CHUNK_SECONDS: z.coerce.number().min(0.5).max(60).default(1),
    JOIN_TOKEN_TTL_S: duration.default(600),
    SFU_RECOVERY_GRACE_S: z.coerce.number().int().min(0).max(86_400).default(120),
    SFU_NODE_ID: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'letters, digits and . _ : - only (at most 100)')
      .optional(),
    SFU_CAPACITY_TRACKS: z.coerce.number().int().min(0).max(1_000_000).default(200),
    SFU_SESSION_RESERVE_TRACKS: z.coerce.number().int().min(1).max(1000).default(2),
    SFU_NODE_GONE_S: z.coerce.number().int().min(1).max(600).default(5),
    FLEET_ADMIN_TOKEN: z.string().min(32, 'at least 32 characters').max(512).optional(),
    STRIPE_SECRET_KEY: z
      .string()
      .regex(/^(sk|rk)_[A-Za-z0-9_]{8,}$/, 'must be a Stripe secret key (sk_...) or restricted key (rk_...)')
      .optional(),
    STRIPE_WEBHOOK_SECRET: z
      .string()
      .regex(/^whsec_\S{8,}$/, 'must be a webhook signing secret (whsec_...)')
      .optional(),
    STRIPE_API_URL: z.url({ protocol: /^https?$/ }).optional(),
    BILLING_PLANS: billingPlans.optional(),
    BILLING_FREE_SEATS: z.coerce.number().int().min(1).max(100000).default(1),
    BILLING_FREE_RECORDING_HOURS: z.coerce.number().min(0).default(1),
    METRICS_ORG_SERIES_MAX: z.coerce.number().int().min(0).max(10000).default(100),
    KEY_PROVIDER: z.enum(['local', 'aws-kms']).default('local'),
    LOCAL_KEK: z
      .string()
      .refine(
        (s) => /^[A-Za-z0-9+/]{43}=$/.test(s) && Buffer.from(s, 'base64').length === 32,
        'must be 32 bytes in base64 (`openssl rand -base64 32`)',
      )
      .optional(),
    AWS_KMS_KEY_ID: z.string().min(1).optional(),
    AWS_REGION: z
      .string()
      .regex(/^[a-z0-9-]+$/, 'must be a region name such as eu-west-1')
      .optional(),
    AWS_KMS_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    STORAGE: z.enum(['local', 's3']).default('local'),
    S3_BUCKET: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name (3–63 of a-z 0-9 . -)')
      .optional(),
    S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    S3_REGION: z
      .string()
      .regex(/^[a-z0-9-]+$/, 'must be a region name such as eu-west-1')
      .optional(),
    S3_FORCE_PATH_STYLE: bool.default(false),
    JOBS: z.enum(['on', 'off']).default('on'),
    JOBS_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
    JOBS_POLL_INTERVAL_MS: z.coerce.number().int().min(100).max(60000).default(2000),
    JOBS_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(3200),
    MODEL_DIR: z.string().min(1).optional(),
    TRANSCRIBE_MODEL: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must be a folder name under MODEL_DIR')
      .default('whisper-base'),
    TRANSCRIBE_DEVICE: z.enum(['auto', 'cuda', 'cpu']).default('auto'),
    TRANSCRIBE_DTYPE: z.enum(['auto', 'fp32', 'fp16', 'q8', 'q4']).default('auto'),
    TRANSCRIBE_WORD_TIMESTAMPS: bool.default(true),
    TRANSCRIBE_LEASE_S: z.coerce.number().int().min(2).max(3600).default(60),
    TRANSCRIBE_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(25).default(5),
    LIFECYCLE_SWEEP_INTERVAL_S: z.coerce
      .number()
      .int()
      .min(10)
      .max(7 * 24 * 3600)
      .default(3600),
    PRIVATE_SEAL_INTERVAL_S: z.coerce.number().int().min(0).max(3600).default(5),
    EXPORT_TTL_S: z.coerce
      .number()
      .int()
      .min(60)
      .max(30 * 24 * 3600)
      .default(24 * 3600),
    WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60000).default(10000),
    WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3600000).default(5000),
    WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(9),
    WEBHOOK_SECRET_OVERLAP_S: z.coerce
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600)
      .default(24 * 3600),
  })
  .superRefine((v, ctx) => {
    if (v.KEY_PROVIDER === 'aws-kms' && !v.AWS_KMS_KEY_ID)
      ctx.addIssue({ code: 'custom', path: ['AWS_KMS_KEY_ID'], message: 'is required when KEY_PROVIDER=aws-kms' });
    if (v.KEY_PROVIDER === 'aws-kms' && !v.AWS_REGION)
      ctx.addIssue({ code: 'custom', path: ['AWS_REGION'], message: 'is required when KEY_PROVIDER=aws-kms' });
    if (v.STORAGE === 's3' && !v.S3_BUCKET)
      ctx.addIssue({ code: 'custom', path: ['S3_BUCKET'], message: 'is required when STORAGE=s3' });
    if (v.STRIPE_SECRET_KEY && !v.STRIPE_WEBHOOK_SECRET)
      ctx.addIssue({
        code: 'custom',
        path: ['STRIPE_WEBHOOK_SECRET'],
        message: 'is required when STRIPE_SECRET_KEY is set',
      });
    if (v.STRIPE_SECRET_KEY && !v.BILLING_PLANS)
      ctx.addIssue({ code: 'custom', path: ['BILLING_PLANS'], message: 'is required when STRIPE_SECRET_KEY is set' });
    if (v.DATABASE_APP_URL && !v.DATABASE_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_APP_URL'],
        message: 'DATABASE_APP_URL needs DATABASE_URL (the owner connection used for migrations)',
      });
    }
    if (v.SESSION_IDLE_TTL_S > v.SESSION_ABSOLUTE_TTL_S) {
      ctx.addIssue({ code: 'custom', path: ['SESSION_IDLE_TTL_S'], message: 'must not exceed SESSION_ABSOLUTE_TTL_S' });
    }
  });

/** A plan sold through Stripe: one per-seat price; the recording limit is per org and month (null: none). */
export interface BillingPlan {
  readonly id: string;
  readonly name: string;
  readonly stripePriceId: string;
  readonly recordingHoursPerMonth: number | null;
}

/** Billing settings; present only when STRIPE_SECRET_KEY is set (billing on). */
export interface BillingConfig {
  readonly stripeSecretKey: string;
  readonly webhookSecret: string;
  /** STRIPE_API_URL: where the Stripe API is reached (tests, proxies); unset: Stripe's own. */
  readonly apiUrl: string | undefined;
  readonly plans: readonly BillingPlan[];
  /** Seats and monthly recording hours of an org without a paid subscription. */
  readonly freeSeats: number;
  readonly freeRecordingHours: number;
}

export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly port: number;
  readonly host: string;
  /** Where people reach the product; decides `Secure` cookies and link targets. */
  readonly publicUrl: string;
  readonly secureCookies: boolean;
  readonly dataDir: string;
  /** Owner connection (migrations, security-definer functions). Unset: embedded Postgres. */
  readonly databaseUrl: string | undefined;
  /** Application connection (a role that owns nothing and cannot bypass RLS). Unset: derived. */
  readonly databaseAppUrl: string | undefined;
  readonly databasePoolSize: number;
  readonly embeddedPgPort: number;
  /** SMTP server for outgoing mail; unset: mail is written to `<DATA_DIR>/outbox`. */
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  /** Server secret given by the operator; unset: generated once into `<DATA_DIR>/secrets`. */
  readonly serverSecret: string | undefined;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  readonly logFormat: 'json' | 'pretty';
  readonly trustProxy: boolean;
  readonly sessionIdleTtlS: number;
  readonly sessionAbsoluteTtlS: number;
  readonly loginCodeTtlS: number;
  readonly loginCodeMaxAttempts: number;
  readonly rateLimits: {
    readonly codesPerEmail: number;
    readonly codesPerClient: number;
    readonly verifyPerClient: number;
    /** Uncached API key hashes (argon2id) one client may cause per window. */
    readonly keyHashesPerClient: number;
    readonly windowS: number;
  };
  readonly invitationTtlS: number;
  /** The live-call SFU (mediasoup): see {@link SfuConfig}. */
  readonly sfu: SfuConfig;
  /**
   * Bearer token of the operators' fleet API (`/api/fleet/...`: list SFU nodes, drain one);
   * FLEET_ADMIN_TOKEN, at least 32 characters. Unset: that API answers 404.
   */
  readonly fleetAdminToken: string | undefined;
  /**
   * Billing with Stripe; undefined (the default, e.g. self-hosted) when STRIPE_SECRET_KEY is unset:
   * no limits, no Stripe calls.
   */
  readonly billing: BillingConfig | undefined;
  /** Per-organisation metric series kept before the rest fold into `org="other"` (default 100; 0: none). */
  readonly metricsOrgSeriesMax: number;
  /** How session data keys are wrapped (KEY_PROVIDER and its settings). */
  readonly keys: KeysConfig;
  /** Where sealed chunks and transcripts are stored (STORAGE and its settings). */
  readonly storage: StorageConfig;
  /** The job worker (Postgres queue): see {@link JobsConfig}. */
  readonly jobs: JobsConfig;
  /** Transcription: see {@link TranscriptionConfig}. */
  readonly transcription: TranscriptionConfig;
  /**
   * Data lifecycle: LIFECYCLE_SWEEP_INTERVAL_S (default 3600) between sweeps (retention,
   * org and account deletion, audit purge, expired exports); EXPORT_TTL_S (default 86400)
   * an export stays downloadable; PRIVATE_SEAL_INTERVAL_S (default 5) how often a job worker
   * seals ended private-mode sessions that wait for no transcription (0: only at the sweep).
   */
  readonly lifecycle: {
    readonly sweepIntervalS: number;
    readonly exportTtlS: number;
    readonly privateSealIntervalS: number;
  };
  /** Signed webhooks: see {@link WebhooksConfig}. */
  readonly webhooks: WebhooksConfig;
}

/**
 * Signed webhooks. WEBHOOK_TIMEOUT_MS (default 10000): one attempt's limit. A failed attempt
 * is retried after WEBHOOK_RETRY_BASE_MS (default 5000) × 4^(attempt−1), at most 12 h at the
 * default base, up to WEBHOOK_MAX_ATTEMPTS attempts (default 9: the last about 20 h after the
 * first); then the endpoint is disabled and its admins are emailed. WEBHOOK_SECRET_OVERLAP_S
 * (default 86400): how long a rotated-out secret keeps signing beside the new one.
 * `allowLoopback` (NODE_ENV=development only): http:// and loopback targets for local receivers.
 */
export interface WebhooksConfig {
  readonly timeoutMs: number;
  readonly retryBaseMs: number;
  readonly maxAttempts: number;
  readonly secretOverlapS: number;
  readonly allowLoopback: boolean;
}

/**
 * The job worker. JOBS=on (default) runs it inside `npm start`; off: only a separate
 * `node server/jobs/main.ts` process (e.g. on GPU hosts) works the queue. JOBS_CONCURRENCY
 * (default 1) jobs at once per process; JOBS_POLL_INTERVAL_MS (default 2000) between polls
 * for retries that come due (new jobs arrive at once through LISTEN/NOTIFY).
 */
export interface JobsConfig {
  readonly mode: 'on' | 'off';
  readonly concurrency: number;
  readonly pollIntervalMs: number;
  /** JOBS_METRICS_PORT (default 3200): /healthz and /metrics of a standalone jobs process. */
  readonly metricsPort: number;
}

/**
 * Transcription. Models come only from MODEL_DIR (default `<DATA_DIR>/models`), folder
 * TRANSCRIBE_MODEL (default whisper-base; `npm run model:fetch -- NAME` installs one).
 * TRANSCRIBE_DEVICE: auto (default; CUDA where it loads, else CPU), cuda or cpu.
 * TRANSCRIBE_DTYPE: auto (default: the library's choice for the device), fp32, fp16, q8, q4.
 * TRANSCRIBE_WORD_TIMESTAMPS (default true): word times where the model gives them.
 * TRANSCRIBE_LEASE_S (default 60): a worker renews its claim on a run every third of this;
 * a run whose lease lapses (a killed worker) is retried. TRANSCRIBE_MAX_ATTEMPTS (default 5).
 */
export interface TranscriptionConfig {
  readonly modelDir: string;
  readonly model: string;
  readonly device: 'auto' | 'cuda' | 'cpu';
  readonly dtype: 'auto' | 'fp32' | 'fp16' | 'q8' | 'q4';
  readonly wordTimestamps: boolean;
  readonly leaseS: number;
  readonly maxAttempts: number;
}

/**
 * KEY_PROVIDER=local (default): a key-encryption key from LOCAL_KEK (base64, 32 bytes) or,
 * unset, a file created once under `<DATA_DIR>/secrets`. KEY_PROVIDER=aws-kms: AWS KMS key
 * AWS_KMS_KEY_ID in AWS_REGION, optionally through AWS_KMS_ENDPOINT; credentials from the
 * AWS SDK's default chain.
 */
export type KeysConfig =
  | { readonly provider: 'local'; readonly localKek: string | undefined }
  | {
      readonly provider: 'aws-kms';
      readonly kmsKeyId: string;
      readonly region: string;
      readonly endpoint: string | undefined;
    };

/**
 * STORAGE=local (default): files under `<DATA_DIR>/objects`. STORAGE=s3: bucket S3_BUCKET in
 * S3_REGION (default AWS_REGION, else us-east-1) at S3_ENDPOINT (unset: AWS), with
 * S3_FORCE_PATH_STYLE for stores such as MinIO.
 */
export type StorageConfig =
  | { readonly kind: 'local' }
  | {
      readonly kind: 's3';
      readonly bucket: string;
      readonly region: string;
      readonly endpoint: string | undefined;
      readonly forcePathStyle: boolean;
    };

/**
 * The SFU. SFU=auto (default) runs it inside `npm start` when a mediasoup worker binary is
 * available (MEDIASOUP_WORKER_BIN, or mediasoup's own build); on: required; off: never
 * (a separate `node sfu/main.ts` process serves it). Workers (SFU_WORKERS, default one per
 * core) each listen on UDP and TCP port SFU_RTC_PORT + index on SFU_LISTEN_IP, announcing
 * SFU_ANNOUNCED_ADDRESS to browsers (set it to the public IP or name behind NAT).
 * SFU_PUBLIC_URL is the WebSocket URL browsers use for signalling (default: same origin,
 * path /sfu). CHUNK_SECONDS (default 1) is the capture chunk length, and so what a killed SFU
 * process can lose per track: at most one chunk plus the write in flight. With the reconnect
 * to another fleet node (about 0.5 s) the hole a failover leaves stays under 2 s by default.
 */
export interface SfuConfig {
  readonly mode: 'auto' | 'on' | 'off';
  readonly port: number;
  readonly workers: number;
  readonly listenIp: string;
  readonly announcedAddress: string | undefined;
  readonly rtcPortBase: number;
  readonly publicUrl: string | undefined;
  readonly workerBin: string | undefined;
  readonly chunkMs: number;
  readonly joinTokenTtlS: number;
  /**
   * After a crash, how long an interrupted session waits for its participants to reconnect
   * (recording resumes when the host is back) before it is ended (SFU_RECOVERY_GRACE_S,
   * default 120).
   */
  readonly recoveryGraceS: number;
  /**
   * This node's id in the fleet (SFU_NODE_ID; default `<hostname>-<port>`): keep it stable
   * across restarts, so a restarted node recovers its own sessions.
   */
  readonly nodeId: string | undefined;
  /** Tracks this node takes before placement sends sessions elsewhere (SFU_CAPACITY_TRACKS, default 200). */
  readonly capacityTracks: number;
  /** Tracks a newly placed session counts for until it has more (SFU_SESSION_RESERVE_TRACKS, default 2). */
  readonly sessionReserveTracks: number;
  /** A node that stops heartbeating this long is declared gone (SFU_NODE_GONE_S, default 5). */
  readonly nodeGoneS: number;
}

/** Thrown by {@link parseConfig} with every problem found, one per line. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Parses an environment (default: `process.env`) into a frozen {@link Config}.
 * @throws ConfigError listing every invalid variable.
 */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  const v = parsed.data;
  const publicUrl = (v.PUBLIC_URL ?? `http://localhost:${v.PORT}`).replace(/\/+$/, '');
  return Object.freeze({
    env: v.NODE_ENV,
    port: v.PORT,
    host: v.HOST,
    publicUrl,
    secureCookies: publicUrl.startsWith('https:'),
    dataDir: path.resolve(v.DATA_DIR),
    databaseUrl: v.DATABASE_URL,
    databaseAppUrl: v.DATABASE_APP_URL,
    databasePoolSize: v.DATABASE_POOL_SIZE,
    embeddedPgPort: v.EMBEDDED_PG_PORT,
    smtpUrl: v.SMTP_URL,
    mailFrom: v.MAIL_FROM,
    serverSecret: v.SERVER_SECRET,
    logLevel: v.LOG_LEVEL,
    logFormat: v.LOG_FORMAT ?? 'json',
    trustProxy: v.TRUST_PROXY,
    sessionIdleTtlS: v.SESSION_IDLE_TTL_S,
    sessionAbsoluteTtlS: v.SESSION_ABSOLUTE_TTL_S,
    loginCodeTtlS: v.LOGIN_CODE_TTL_S,
    loginCodeMaxAttempts: v.LOGIN_CODE_MAX_ATTEMPTS,
    rateLimits: Object.freeze({
      codesPerEmail: v.RATE_LIMIT_CODES_PER_EMAIL,
      codesPerClient: v.RATE_LIMIT_CODES_PER_CLIENT,
      verifyPerClient: v.RATE_LIMIT_VERIFY_PER_CLIENT,
      keyHashesPerClient: v.RATE_LIMIT_KEY_HASHES_PER_CLIENT,
      windowS: v.RATE_LIMIT_WINDOW_S,
    }),
    invitationTtlS: v.INVITATION_TTL_S,
    sfu: Object.freeze({
      mode: v.SFU,
      port: v.SFU_PORT,
      workers: v.SFU_WORKERS ?? Math.max(1, os.availableParallelism()),
      listenIp: v.SFU_LISTEN_IP,
      announcedAddress: v.SFU_ANNOUNCED_ADDRESS,
      rtcPortBase: v.SFU_RTC_PORT,
      publicUrl: v.SFU_PUBLIC_URL,
      workerBin: v.MEDIASOUP_WORKER_BIN,
      chunkMs: Math.round(v.CHUNK_SECONDS * 1000),
      joinTokenTtlS: v.JOIN_TOKEN_TTL_S,
      recoveryGraceS: v.SFU_RECOVERY_GRACE_S,
      nodeId: v.SFU_NODE_ID,
      capacityTracks: v.SFU_CAPACITY_TRACKS,
      sessionReserveTracks: v.SFU_SESSION_RESERVE_TRACKS,
      nodeGoneS: v.SFU_NODE_GONE_S,
    }),
    fleetAdminToken: v.FLEET_ADMIN_TOKEN,
    billing:
      v.STRIPE_SECRET_KEY && v.STRIPE_WEBHOOK_SECRET && v.BILLING_PLANS
        ? Object.freeze({
            stripeSecretKey: v.STRIPE_SECRET_KEY,
            webhookSecret: v.STRIPE_WEBHOOK_SECRET,
            apiUrl: v.STRIPE_API_URL,
            plans: Object.freeze(
              v.BILLING_PLANS.map((p) =>
                Object.freeze({
                  id: p.id,
                  name: p.name ?? p.id,
                  stripePriceId: p.price,
                  recordingHoursPerMonth: p.recording_hours,
                }),
              ),
            ),
            freeSeats: v.BILLING_FREE_SEATS,
            freeRecordingHours: v.BILLING_FREE_RECORDING_HOURS,
          })
        : undefined,
    metricsOrgSeriesMax: v.METRICS_ORG_SERIES_MAX,
    keys: Object.freeze(
      v.KEY_PROVIDER === 'aws-kms'
        ? {
            provider: 'aws-kms' as const,
            kmsKeyId: v.AWS_KMS_KEY_ID ?? '',
            region: v.AWS_REGION ?? '',
            endpoint: v.AWS_KMS_ENDPOINT,
          }
        : { provider: 'local' as const, localKek: v.LOCAL_KEK },
    ),
    storage: Object.freeze(
      v.STORAGE === 's3'
        ? {
            kind: 's3' as const,
            bucket: v.S3_BUCKET ?? '',
            region: v.S3_REGION ?? v.AWS_REGION ?? 'us-east-1',
            endpoint: v.S3_ENDPOINT,
            forcePathStyle: v.S3_FORCE_PATH_STYLE,
          }
        : { kind: 'local' as const },
    ),
    jobs: Object.freeze({
      mode: v.JOBS,
      concurrency: v.JOBS_CONCURRENCY,
      pollIntervalMs: v.JOBS_POLL_INTERVAL_MS,
      metricsPort: v.JOBS_METRICS_PORT,
    }),
    transcription: Object.freeze({
      modelDir: path.resolve(v.MODEL_DIR ?? path.join(v.DATA_DIR, 'models')),
      model: v.TRANSCRIBE_MODEL,
      device: v.TRANSCRIBE_DEVICE,
      dtype: v.TRANSCRIBE_DTYPE,
      wordTimestamps: v.TRANSCRIBE_WORD_TIMESTAMPS,
      leaseS: v.TRANSCRIBE_LEASE_S,
      maxAttempts: v.TRANSCRIBE_MAX_ATTEMPTS,
    }),
    lifecycle: Object.freeze({
      sweepIntervalS: v.LIFECYCLE_SWEEP_INTERVAL_S,
      exportTtlS: v.EXPORT_TTL_S,
      privateSealIntervalS: v.PRIVATE_SEAL_INTERVAL_S,
    }),
    webhooks: Object.freeze({
      timeoutMs: v.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: v.WEBHOOK_RETRY_BASE_MS,
      maxAttempts: v.WEBHOOK_MAX_ATTEMPTS,
      secretOverlapS: v.WEBHOOK_SECRET_OVERLAP_S,
      allowLoopback: v.NODE_ENV === 'development',
    }),
  });
}

/**
 * For process entry points: the parsed config, or every problem on stderr and exit code 2.
 */
export function parseConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
