/** Every documented route: the one list the OpenAPI document is built from (append a resource's entries here). */
import type { RouteDoc } from './registry.ts';
import { systemDocs } from '../system/openapi.ts';
import { authDocs } from '../auth/openapi.ts';
import { orgDocs } from '../orgs/openapi.ts';
import { billingDocs } from '../billing/openapi.ts';
import { sessionDocs } from '../sessions/openapi.ts';
import { transcriptDocs } from '../transcripts/openapi.ts';
import { lifecycleDocs } from '../lifecycle/openapi.ts';
import { apiKeyDocs } from '../apiKeys/openapi.ts';
import { webhookDocs } from '../webhooks/openapi.ts';
import { dashboardDocs } from '../dashboard/openapi.ts';
import { fleetDocs } from '../fleet/openapi.ts';
import { privateModeDocs } from '../private/openapi.ts';

export const ROUTE_DOCS: readonly RouteDoc[] = [
  ...systemDocs,
  ...authDocs,
  ...orgDocs,
  ...apiKeyDocs,
  ...sessionDocs,
  ...transcriptDocs,
  ...lifecycleDocs,
  ...billingDocs,
  ...webhookDocs,
  ...dashboardDocs,
  ...fleetDocs,
  ...privateModeDocs,
];
