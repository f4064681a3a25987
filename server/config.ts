/**
 * The only reader of `process.env`. Every setting the product takes is parsed here with zod
 * into one frozen object; bad configuration lists every problem and stops start-up.
 * Each variable is documented in README.md ("Configuration").
 */
import path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const duration = z.coerce.number().int().positive();

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
    RATE_LIMIT_WINDOW_S: duration.default(900),
    INVITATION_TTL_S: duration.default(7 * 24 * 3600),
  })
  .superRefine((v, ctx) => {
    if (v.DATABASE_APP_URL && !v.DATABASE_URL) {
      ctx.addIssue({ code: 'custom', path: ['DATABASE_APP_URL'], message: 'DATABASE_APP_URL needs DATABASE_URL (the owner connection used for migrations)' });
    }
    if (v.SESSION_IDLE_TTL_S > v.SESSION_ABSOLUTE_TTL_S) {
      ctx.addIssue({ code: 'custom', path: ['SESSION_IDLE_TTL_S'], message: 'must not exceed SESSION_ABSOLUTE_TTL_S' });
    }
  });

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
    readonly windowS: number;
  };
  readonly invitationTtlS: number;
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
      windowS: v.RATE_LIMIT_WINDOW_S,
    }),
    invitationTtlS: v.INVITATION_TTL_S,
  });
}
