/**
 * One structured logger for every process. Lines are JSON (or a short human form when
 * LOG_FORMAT=pretty); the request id comes from AsyncLocalStorage, and the logger itself
 * redacts fields that may carry secrets or content, so a careless call site cannot leak them.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
type Fields = Record<string, unknown>;

const LEVELS: Record<LogLevel | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/**
 * Field names whose values never reach a log line. Matching is by lower-cased key
 * substring, so `emailAddress`, `set-cookie` and `x-csrf-token` are all covered.
 */
const REDACT = [
  'email',
  'code',
  'cookie',
  'token',
  'password',
  'secret',
  'authorization',
  'body',
  'text',
  'audio',
  'transcript',
  'key',
  'name',
  'query',
  'subject',
  'html',
  'path',
  'header',
  'agent',
  'param',
  'address',
  'message',
  'recipient',
  'title',
  'search',
];
/** Short field names that would match too much as substrings; compared whole. */
const REDACT_EXACT = new Set(['ip', 'ips', 'to', 'from', 'cc', 'bcc', 'ua', 'q']);
const ALLOW = new Set([
  'request_id',
  'status',
  'route',
  'method',
  'latency_ms',
  'error_code',
  'org',
  'level',
  'msg',
  'time',
  'event',
  'job',
  'err_name',
  'stack',
  'pid',
  'port',
  'dir',
  'url',
  'provider',
  'worker',
  'duration_ms',
  'count',
  'migrations',
  'reason',
  'signal',
  'mode',
]);

interface RequestContext {
  requestId: string;
  org?: string;
}

/** Carries the request id (and hashed org) through async work started by a request. */
export const requestContext = new AsyncLocalStorage<RequestContext>();

function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  // Bytes may be audio or key material; deep objects are not checked key by key.
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return '[binary]';
  if (depth > 4) return '[truncated]';
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Fields = {};
  for (const [k, v] of Object.entries(value as Fields)) {
    const lower = k.toLowerCase();
    if (!ALLOW.has(lower) && (REDACT_EXACT.has(lower) || REDACT.some((r) => lower.includes(r)))) out[k] = '[redacted]';
    else out[k] = redact(v, depth + 1);
  }
  return out;
}

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

/** Where log lines go; tests swap it to capture lines. Default: stdout. */
export const logSink: { write: (line: string) => void } = {
  write: (line) => {
    process.stdout.write(line + '\n');
  },
};

let threshold = LEVELS.info;
let pretty = false;

/** Sets the minimum level and the output format (from config at start-up). */
export function configureLogger(level: LogLevel | 'silent', format: 'json' | 'pretty'): void {
  threshold = LEVELS[level];
  pretty = format === 'pretty';
}

function emit(level: LogLevel, msg: string, fields: Fields | undefined): void {
  if (LEVELS[level] < threshold) return;
  const ctx = requestContext.getStore();
  const record: Fields = { time: new Date().toISOString(), level, msg, ...(redact(fields ?? {}) as Fields) };
  if (ctx) {
    record.request_id = ctx.requestId;
    if (ctx.org && record.org === undefined) record.org = ctx.org;
  }
  if (pretty) {
    const { time, level: l, msg: m, ...rest } = record;
    logSink.write(
      `${String(time)} ${String(l).toUpperCase()} ${String(m)} ${Object.keys(rest).length ? JSON.stringify(rest) : ''}`,
    );
  } else {
    logSink.write(JSON.stringify(record));
  }
}

/** Describes an unknown thrown value without its message text (which may hold content). */
export function errorFields(err: unknown): Fields {
  if (err instanceof Error) {
    // Frames only: the stack starts with the message, which may span lines.
    const stack = err.stack ?? '';
    const head = String(err);
    const frames = (stack.startsWith(head) ? stack.slice(head.length) : stack)
      .split('\n')
      .filter((l) => /^\s+at /.test(l));
    return { err_name: err.name, stack: frames.slice(0, 5).join('\n') };
  }
  return { err_name: typeof err };
}

export const log: Logger = {
  debug: (m, f) => emit('debug', m, f),
  info: (m, f) => emit('info', m, f),
  warn: (m, f) => emit('warn', m, f),
  error: (m, f) => emit('error', m, f),
};
