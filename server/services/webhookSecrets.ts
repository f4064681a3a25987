/**
 * Webhook signing secrets at rest: the service must sign with them, so they are stored
 * encrypted, never as plaintext. Each endpoint has a data key from the key provider (the
 * same envelope as a session's: context `{organizationId, sessionId: "webhook:<endpoint>"}`),
 * stored only wrapped; its secrets are sealed under it with AES-256-GCM, bound to the org and
 * endpoint. Every unwrap is a key-provider round trip: callers make it outside any transaction.
 */
import type { Deps } from '../core/context.ts';
import { openBlob, sealBlob, type BlobBinding } from '../../lib/chunks/seal.ts';
import { parseWrappedKey, type KeyContext, type WrappedKey } from '../../lib/keys/KeyProvider.ts';

function context(orgId: string, endpointId: string): KeyContext {
  return { organizationId: orgId, sessionId: `webhook:${endpointId}` };
}

function binding(orgId: string, endpointId: string): BlobBinding {
  return { organizationId: orgId, sessionId: `webhook:${endpointId}`, kind: 'webhook-secret', name: endpointId };
}

/**
 * A new data key for the endpoint, with `secret` sealed under it.
 * @throws KeyError when the key provider fails.
 */
export async function sealNewSecret(
  deps: Deps,
  orgId: string,
  endpointId: string,
  secret: string,
): Promise<{ wrappedKey: WrappedKey; sealed: Buffer }> {
  const key = await deps.storage.keyProvider.generateDataKey(context(orgId, endpointId));
  try {
    return {
      wrappedKey: key.wrapped,
      sealed: sealBlob(key.plaintext, binding(orgId, endpointId), Buffer.from(secret)),
    };
  } finally {
    key.plaintext.fill(0);
  }
}

/**
 * Seals `secret` under the endpoint's existing data key (rotation).
 * @throws KeyError when the key cannot be unwrapped.
 */
export async function sealWithKey(
  deps: Deps,
  orgId: string,
  endpointId: string,
  wrapped: unknown,
  secret: string,
): Promise<Buffer> {
  const key = await deps.storage.keyProvider.decrypt(parseWrappedKey(wrapped), context(orgId, endpointId));
  try {
    return sealBlob(key, binding(orgId, endpointId), Buffer.from(secret));
  } finally {
    key.fill(0);
  }
}

/**
 * Opens the sealed secrets of an endpoint (current first).
 * @throws KeyError, SealError when the key or a seal does not open.
 */
export async function openSecrets(
  deps: Deps,
  orgId: string,
  endpointId: string,
  wrapped: unknown,
  sealed: readonly Buffer[],
): Promise<string[]> {
  const key = await deps.storage.keyProvider.decrypt(parseWrappedKey(wrapped), context(orgId, endpointId));
  try {
    return sealed.map((s) => openBlob(key, binding(orgId, endpointId), s).toString());
  } finally {
    key.fill(0);
  }
}
