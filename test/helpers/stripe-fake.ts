/**
 * A loopback server speaking Stripe's wire protocol for the few calls the product makes
 * (customers, Checkout sessions, Customer Portal sessions): form-encoded POST bodies,
 * Bearer auth, Idempotency-Key replays, JSON objects and errors shaped like Stripe's.
 * Plus signed webhook deliveries built with Stripe's own test signing helper.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

export interface StripeRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  idempotencyKey: string | undefined;
  /** The form body decoded into nested objects (`a[0][b]=1` -> `{a: [{b: '1'}]}`). */
  body: Record<string, unknown>;
}

export interface StripeFake {
  url: string;
  requests: StripeRequest[];
  /** The next request gets this Stripe error instead of its object. */
  failNext(status: number, type: string, message: string): void;
  close(): Promise<void>;
}

/** Decodes Stripe's bracketed form encoding into nested objects and arrays. */
export function decodeForm(raw: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    const parts = key.split(/[[\]]+/).filter((p) => p !== '');
    let node = root;
    parts.forEach((p, i) => {
      if (i === parts.length - 1) node[p] = value;
      else node = (node[p] ??= {}) as Record<string, unknown>;
    });
  }
  const arrays = (v: unknown): unknown => {
    if (!v || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    const mapped = Object.fromEntries(keys.map((k) => [k, arrays(o[k])]));
    return keys.length && keys.every((k, i) => k === String(i)) ? keys.map((k) => mapped[k]) : mapped;
  };
  return arrays(root) as Record<string, unknown>;
}

const rid = (prefix: string) => `${prefix}${randomBytes(8).toString('hex')}`;

/** Starts the fake; requests must carry `Authorization: Bearer <apiKey>`. */
export async function startStripeFake(apiKey: string): Promise<StripeFake> {
  const requests: StripeRequest[] = [];
  const replays = new Map<string, { status: number; body: unknown }>();
  let failure: { status: number; type: string; message: string } | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '').split('?')[0] ?? '';
      const r: StripeRequest = {
        method: req.method ?? '',
        path,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        idempotencyKey: typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : undefined,
        body: decodeForm(raw),
      };
      requests.push(r);
      const send = (status: number, body: unknown) => {
        res.writeHead(status, {
          'content-type': 'application/json',
          'request-id': rid('req_'),
          'stripe-version': '2026-10-28.endive',
        });
        res.end(JSON.stringify(body));
      };
      if (r.authorization !== `Bearer ${apiKey}`)
        return send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided.' } });
      if (r.method === 'POST' && !/^application\/x-www-form-urlencoded/.test(r.contentType ?? '')) {
        return send(400, { error: { type: 'invalid_request_error', message: 'Bodies must be form-encoded.' } });
      }
      if (failure) {
        const f = failure;
        failure = undefined;
        return send(f.status, { error: { type: f.type, message: f.message } });
      }
      const replayKey = r.idempotencyKey ? `${r.path} ${r.idempotencyKey}` : undefined;
      const previous = replayKey ? replays.get(replayKey) : undefined;
      if (previous) return send(previous.status, previous.body);
      const created = Math.floor(Date.now() / 1000);
      const b = r.body;
      let obj: Record<string, unknown> | undefined;
      if (r.method === 'POST' && path === '/v1/customers') {
        obj = {
          id: rid('cus_'),
          object: 'customer',
          created,
          livemode: false,
          name: b.name ?? null,
          email: b.email ?? null,
          metadata: b.metadata ?? {},
        };
      } else if (r.method === 'POST' && path === '/v1/checkout/sessions') {
        if (!b.customer || !b.mode || !Array.isArray(b.line_items) || !b.success_url)
          return send(400, { error: { type: 'invalid_request_error', message: 'Missing required param.' } });
        const id = rid('cs_test_');
        obj = {
          id,
          object: 'checkout.session',
          created,
          livemode: false,
          mode: b.mode,
          customer: b.customer,
          client_reference_id: b.client_reference_id ?? null,
          metadata: b.metadata ?? {},
          status: 'open',
          subscription: null,
          url: `https://checkout.stripe.com/c/pay/${id}`,
        };
      } else if (r.method === 'POST' && path === '/v1/billing_portal/sessions') {
        if (!b.customer)
          return send(400, { error: { type: 'invalid_request_error', message: 'Missing required param: customer.' } });
        obj = {
          id: rid('bps_'),
          object: 'billing_portal.session',
          created,
          livemode: false,
          customer: b.customer,
          return_url: b.return_url ?? null,
          url: `https://billing.stripe.com/p/session/${rid('test_')}`,
        };
      }
      if (!obj)
        return send(404, {
          error: { type: 'invalid_request_error', message: `Unrecognized request URL (${r.method}: ${path}).` },
        });
      if (replayKey) replays.set(replayKey, { status: 200, body: obj });
      send(200, obj);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(status, type, message) {
      failure = { status, type, message };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A Stripe event envelope around `object`, as Stripe posts it. */
export function stripeEvent(
  type: string,
  object: Record<string, unknown>,
  opts: { created?: number; id?: string } = {},
): Record<string, unknown> {
  return {
    id: opts.id ?? rid('evt_'),
    object: 'event',
    api_version: '2026-10-28.endive',
    created: opts.created ?? Math.floor(Date.now() / 1000),
    type,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object },
  };
}

/** The body and stripe-signature header of a delivery, signed with Stripe's helper. */
export function signed(
  event: Record<string, unknown>,
  secret: string,
  timestamp?: number,
): { payload: string; header: string } {
  const payload = JSON.stringify(event, null, 2);
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp ? { timestamp } : {}) });
  return { payload, header };
}

/** A subscription object with one per-seat item (period on the item, as current API versions send it). */
export function subscriptionObject(s: {
  id: string;
  customer: string;
  price: string;
  seats: number;
  status: string;
  periodStart: number;
  periodEnd: number;
  cancelAtPeriodEnd?: boolean;
  orgId?: string;
}): Record<string, unknown> {
  return {
    id: s.id,
    object: 'subscription',
    customer: s.customer,
    status: s.status,
    cancel_at_period_end: s.cancelAtPeriodEnd ?? false,
    metadata: s.orgId ? { organization_id: s.orgId } : {},
    items: {
      object: 'list',
      data: [
        {
          id: rid('si_'),
          object: 'subscription_item',
          quantity: s.seats,
          price: { id: s.price, object: 'price', unit_amount: 1000, currency: 'usd' },
          current_period_start: s.periodStart,
          current_period_end: s.periodEnd,
        },
      ],
    },
  };
}
