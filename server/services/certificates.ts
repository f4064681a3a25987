/**
 * Deletion certificates: a signed statement, made when a recording's data key is erased,
 * of what became unreadable (chunks, bytes, transcripts), which key record was erased and
 * when. Signed with the deployment's Ed25519 key (server/core/crypto/signing.ts), stored per
 * session, and returned by DELETE and GET .../certificate. Verification needs only the
 * statement, the signature and the public key (docs/data-lifecycle.md).
 */
import { createHash, randomUUID } from 'node:crypto';
import { withTenant, withUser, type Queryable } from '../core/db/pool.ts';
import * as repo from '../repositories/lifecycle.ts';
import { notFound } from '../core/errors.ts';
import { deploymentSigner } from '../core/crypto/signing.ts';
import type { Deps } from '../core/context.ts';
import type { SignedInUser } from '../context.ts';
import type { WrappedKey } from '../../lib/keys/KeyProvider.ts';

/** Why a recording was erased. */
export type ErasureReason = 'deleted' | 'retention';

/** The signed statement of one erasure (see docs/data-lifecycle.md for each field). */
export interface DeletionStatement {
  type: 'recorder.deletion-certificate';
  version: 1;
  certificate_id: string;
  issuer: { deployment: string; public_key_sha256: string };
  organization_id: string;
  session_id: string;
  reason: ErasureReason;
  erased_at: string;
  key_erased: { provider: string | null; key_id: string | null; wrapped_key_sha256: string | null };
  made_unreadable: { chunks: number; bytes: number; transcripts: number };
  requested_by: string | null;
  /** Set instead of requested_by when an API key asked: the key's id, name and public prefix. */
  requested_by_api_key?: { id: string; name: string; prefix: string };
}

/** A certificate as the API returns it. */
export interface CertificateView {
  certificate: Record<string, unknown>;
  signature: string;
  algorithm: 'Ed25519';
  public_key_url: string;
}

export const PUBLIC_KEY_PATH = '/api/deployment/public-key';

/** The deployment's public key (SPKI PEM) and its fingerprint. */
export function publicKey(deps: Deps): { pem: string; fingerprint: string } {
  const s = deploymentSigner(deps.config.dataDir);
  return { pem: s.publicKeyPem, fingerprint: s.fingerprint };
}

function view(deps: Deps, statement: Record<string, unknown>, signature: string): CertificateView {
  return {
    certificate: statement,
    signature,
    algorithm: 'Ed25519',
    public_key_url: `${deps.config.publicUrl}${PUBLIC_KEY_PATH}`,
  };
}

function statementFor(
  deps: Deps,
  s: Omit<DeletionStatement, 'type' | 'version' | 'certificate_id' | 'issuer'>,
): DeletionStatement {
  const signer = deploymentSigner(deps.config.dataDir);
  return {
    type: 'recorder.deletion-certificate',
    version: 1,
    certificate_id: randomUUID(),
    issuer: { deployment: deps.config.publicUrl, public_key_sha256: signer.fingerprint },
    ...s,
  };
}

/** SHA-256 (hex) of a wrapped key's ciphertext bytes: names the erased record without keeping it. */
export function wrappedKeyDigest(wrapped: WrappedKey): string {
  return createHash('sha256').update(Buffer.from(wrapped.ciphertext, 'base64')).digest('hex');
}

/**
 * Issues and stores the certificate for a session erased by a member, inside the tenant
 * transaction that erased it (signing is local: no network round trip).
 */
export async function certifyUserErasure(
  deps: Deps,
  tx: Queryable,
  e: {
    orgId: string;
    sessionId: string;
    wrapped: WrappedKey | null;
    erasedAt: Date;
    userId: string | null;
    apiKey?: { id: string; name: string; prefix: string } | undefined;
  },
): Promise<CertificateView> {
  const counts = await repo.sessionMediaCounts(tx, e.sessionId);
  const statement = statementFor(deps, {
    organization_id: e.orgId,
    session_id: e.sessionId,
    reason: 'deleted',
    erased_at: e.erasedAt.toISOString(),
    key_erased: {
      provider: e.wrapped?.provider ?? null,
      key_id: e.wrapped?.keyId ?? null,
      wrapped_key_sha256: e.wrapped ? wrappedKeyDigest(e.wrapped) : null,
    },
    made_unreadable: counts,
    requested_by: e.userId,
    ...(e.apiKey ? { requested_by_api_key: { id: e.apiKey.id, name: e.apiKey.name, prefix: e.apiKey.prefix } } : {}),
  });
  const signature = deploymentSigner(deps.config.dataDir).sign(statement);
  await repo.insertCertificate(tx, {
    id: statement.certificate_id,
    orgId: e.orgId,
    sessionId: e.sessionId,
    reason: 'deleted',
    statement,
    signature,
  });
  return view(deps, { ...statement }, signature);
}

/**
 * The sweep's erasure of one session (retention): erases its key and stores the
 * certificate in one transaction. Undefined when the key was already erased.
 */
export async function eraseAndCertify(
  deps: Deps,
  sessionId: string,
  reason: 'retention',
  now: Date,
): Promise<(CertificateView & { wasOpen: boolean }) | undefined> {
  return withUser(deps.db.sweep, null, async (tx) => {
    const e = await repo.eraseSessionForSweep(tx, sessionId, 'session.erased_by_retention');
    if (!e) return undefined;
    const statement = statementFor(deps, {
      organization_id: e.organization_id,
      session_id: sessionId,
      reason,
      erased_at: now.toISOString(),
      key_erased: { provider: e.key_provider, key_id: e.key_id, wrapped_key_sha256: e.wrapped_key_sha256 },
      made_unreadable: { chunks: Number(e.chunks), bytes: Number(e.bytes), transcripts: Number(e.transcripts) },
      requested_by: null,
    });
    const signature = deploymentSigner(deps.config.dataDir).sign(statement);
    await repo.storeCertificateForSweep(tx, {
      id: statement.certificate_id,
      orgId: e.organization_id,
      sessionId,
      reason,
      statement,
      signature,
    });
    return { ...view(deps, { ...statement }, signature), wasOpen: e.was_open };
  });
}

/**
 * A signed statement that a whole organisation was erased (sent to its owners; the org's
 * rows, including stored certificates, are gone afterwards).
 */
export function certifyOrgErasure(
  deps: Deps,
  e: { orgId: string; erasedAt: Date; sessions: number; chunks: number; bytes: number; objectsRemoved: number },
): CertificateView {
  const signer = deploymentSigner(deps.config.dataDir);
  const statement = {
    type: 'recorder.organization-deletion-certificate',
    version: 1,
    certificate_id: randomUUID(),
    issuer: { deployment: deps.config.publicUrl, public_key_sha256: signer.fingerprint },
    organization_id: e.orgId,
    reason: 'organization_deleted',
    erased_at: e.erasedAt.toISOString(),
    made_unreadable: { sessions: e.sessions, chunks: e.chunks, bytes: e.bytes },
    objects_removed: e.objectsRemoved,
  };
  return view(deps, statement, signer.sign(statement));
}

/** A session's stored certificate (members). @throws AppError 404 `certificate_not_found`. */
export async function getCertificate(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  sessionId: string,
): Promise<CertificateView> {
  const row = await withTenant(deps.db.app, { orgId, userId: user.id }, (tx) =>
    repo.findCertificate(tx, orgId, sessionId),
  );
  if (!row) throw notFound('certificate_not_found', 'No deletion certificate for that session.');
  return view(deps, row.statement, row.signature);
}

/** The org's certificates, newest first (members). */
export async function listCertificates(deps: Deps, user: SignedInUser, orgId: string): Promise<CertificateView[]> {
  const rows = await withTenant(deps.db.app, { orgId, userId: user.id }, (tx) => repo.listCertificates(tx, orgId, 500));
  return rows.map((r) => view(deps, r.statement, r.signature));
}
