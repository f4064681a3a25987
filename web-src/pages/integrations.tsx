/**
 * An organisation's integrations (owners and admins): API keys for scripts and pipelines, signed
 * webhooks that tell other systems what happened, and the reference of the API they call.
 */
import type { JSX } from 'preact';
import { Banner } from '../ui/components.tsx';
import { OrgFrame } from '../ui/org.tsx';
import { ApiKeysSection } from './apiKeys.tsx';
import { WebhooksSection } from './webhooks.tsx';

/** The integrations page. */
export function IntegrationsPage(props: { orgId: string }): JSX.Element {
  return (
    <OrgFrame orgId={props.orgId} tab="integrations">
      {(c) =>
        c.admin ? (
          <>
            <p class="muted">
              Scripts call the API with a key instead of a browser sign-in. Every route, its answers and its error codes
              are in the <a href="/docs/api">API reference</a>.
            </p>
            <ApiKeysSection orgId={props.orgId} />
            <WebhooksSection orgId={props.orgId} />
          </>
        ) : (
          <Banner kind="info">Only owners and admins can manage integrations.</Banner>
        )
      }
    </OrgFrame>
  );
}
