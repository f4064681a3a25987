/**
 * Prometheus metrics (prom-client), one registry per process. Nothing here carries
 * content; a per-organisation series is labelled only by {@link Metrics.orgLabel}.
 */
import client from 'prom-client';
import type { Secrets } from './crypto/secrets.ts';

export interface Metrics {
  readonly registry: client.Registry;
  readonly httpDuration: client.Histogram<'route' | 'method' | 'status'>;
  readonly codesSent: client.Counter;
  readonly codesFailed: client.Counter;
  readonly mailFailures: client.Counter<'kind'>;
  /** HMAC of an org id under the metrics key, truncated; stable per deployment. */
  orgLabel(orgId: string): string;
}

/** Creates the registry with default process metrics and the product's own. */
export function createMetrics(secrets: Secrets): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'recorder_' });
  return {
    registry,
    httpDuration: new client.Histogram({
      name: 'recorder_http_request_duration_seconds',
      help: 'HTTP request latency by route template, method and status.',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    codesSent: new client.Counter({ name: 'recorder_auth_codes_sent_total', help: 'Sign-in codes issued and queued for email.', registers: [registry] }),
    codesFailed: new client.Counter({ name: 'recorder_auth_code_failures_total', help: 'Sign-in attempts refused (wrong, expired, used or dead code).', registers: [registry] }),
    mailFailures: new client.Counter({ name: 'recorder_mail_failures_total', help: 'Outgoing emails that the mail server refused or that could not be sent.', labelNames: ['kind'] as const, registers: [registry] }),
    orgLabel: (orgId) => secrets.hmac('metrics-org', orgId).toString('hex').slice(0, 16),
  };
}
