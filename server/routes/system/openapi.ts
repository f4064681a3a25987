/** The OpenAPI entries of health, metrics and this document (routes/openapi/registry.ts). */
import { z } from 'zod';
import type { RouteDoc } from '../openapi/registry.ts';

export const systemDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/healthz',
    tag: 'system',
    summary: 'Liveness and database reachability',
    auth: 'none',
    responses: { 200: { description: 'Up', schema: z.object({ status: z.literal('ok') }) } },
    errors: { 503: ['database_unavailable'] },
  },
  {
    method: 'get',
    path: '/metrics',
    tag: 'system',
    summary: 'Prometheus metrics (text format)',
    auth: 'none',
    responses: { 200: { description: 'Metrics', content: ['text/plain'] } },
  },
  {
    method: 'get',
    path: '/api/openapi.json',
    tag: 'system',
    summary: 'This OpenAPI 3.1 document',
    auth: 'none',
    responses: { 200: { description: 'The document', schema: z.object({ openapi: z.string() }).loose() } },
  },
];
