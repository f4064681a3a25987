/**
 * One webhook attempt: a POST of a JSON body to a checked target, connected to the checked
 * address (never re-resolved), within a time limit, following no redirect. Only the status
 * and the time taken come back; the response body is read up to a small limit and dropped.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedTarget } from './target.ts';

/** What an attempt came to: a status (any, 3xx included), or no response and why. */
export interface AttemptResult {
  /** The HTTP status, or null when no response came. */
  readonly status: number | null;
  readonly latencyMs: number;
  /** Why it failed, in a few words (never the response body). Null on a 2xx. */
  readonly error: string | null;
  readonly ok: boolean;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

/** Sends `body` with `headers` to `target` within `timeoutMs`. Never throws. */
export function postWebhook(
  target: ResolvedTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  // The checked address, whatever the resolver would answer now (DNS rebinding).
  const pinned: LookupFunction = (_host, options, cb) => {
    if ((options as { all?: boolean }).all) {
      (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
        { address: target.address, family: target.family },
      ]);
    } else cb(null, target.address, target.family);
  };
  const lib = target.url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<AttemptResult, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, latencyMs: elapsed() });
    };
    const req = lib.request(
      target.url,
      {
        method: 'POST',
        lookup: pinned,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Recorder-Webhooks/1',
        },
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        let seen = 0;
        res.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > MAX_RESPONSE_BYTES) res.destroy();
        });
        const finish = () => {
          const ok = status >= 200 && status < 300;
          done({
            status,
            ok,
            error: ok ? null : status >= 300 && status < 400 ? 'redirect not followed' : `HTTP ${status}`,
          });
        };
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
      },
    );
    const timer = setTimeout(() => {
      done({ status: null, ok: false, error: `timed out after ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      done({ status: null, ok: false, error: err.code ? `connection failed (${err.code})` : 'connection failed' });
    });
    req.end(body);
  });
}
