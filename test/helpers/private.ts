/**
 * Private mode for tests: turning it on as an owner's browser does (the same WebCrypto code,
 * lib/private/crypto.ts), and reading binary responses with a client's cookies.
 */
import { generateOrgKeyPair, toB64, wrapOrgPrivateKey } from '../../lib/private/crypto.ts';
import type { HttpClient, Res } from './http.ts';

/** Turns private mode on for `orgId` with `passphrase`; returns the response. */
export async function enablePrivateMode(owner: HttpClient, orgId: string, passphrase: string): Promise<Res> {
  const pair = await generateOrgKeyPair();
  const wrapped = await wrapOrgPrivateKey(pair.privateKey, passphrase, orgId);
  return owner.post(`/api/orgs/${orgId}/private-mode`, {
    public_key: toB64(pair.publicKey),
    wrapped_private_key: wrapped,
  });
}

/** GET `path` as `client`, the body as bytes. */
export async function getBytes(client: HttpClient, path: string): Promise<{ status: number; body: Buffer }> {
  const cookie = [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const res = await fetch(client.base + path, { headers: cookie ? { cookie } : {} });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}
