/**
 * The deployment's signing key and the signed statements made with it (deletion
 * certificates). An Ed25519 key pair is created once as `<DATA_DIR>/secrets/signing-key.pem`
 * (PKCS#8, mode 0600); its public half is served at GET /api/deployment/public-key so an
 * auditor can verify a certificate with any Ed25519 implementation (see
 * docs/data-lifecycle.md). Several hosts must share the same file to issue certificates under
 * one key.
 *
 * A statement is signed over its canonical JSON: object keys sorted (recursively), no
 * whitespace, UTF-8. The signature is base64. {@link verifyStatement} checks both.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const FILE = 'signing-key.pem';

/** A key pair able to sign statements. */
export interface Signer {
  /** The public key as SPKI PEM (what GET /api/deployment/public-key serves). */
  readonly publicKeyPem: string;
  /** SHA-256 of the public key's DER encoding, hex: names the key inside each statement. */
  readonly fingerprint: string;
  /** Base64 Ed25519 signature of the canonical JSON of `statement`. */
  sign(statement: unknown): string;
}

const cache = new Map<string, Signer>();

/**
 * The deployment signer for `dataDir`, creating the key pair (0600) on first use. Safe when
 * several processes start at once: the first file written wins.
 * @throws Error when the key file exists but is not an Ed25519 private key, or is readable by others.
 */
export function deploymentSigner(dataDir: string): Signer {
  const cached = cache.get(dataDir);
  if (cached) return cached;
  const dir = path.join(dataDir, 'secrets');
  const file = path.join(dir, FILE);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    const tmp = path.join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
    fs.writeFileSync(tmp, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  if ((fs.statSync(file).mode & 0o077) !== 0) throw new Error(`${file} is readable by others; chmod 600 it`);
  const privateKey = createPrivateKey(fs.readFileSync(file));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${file} is not an Ed25519 key`);
  const signer = signerFor(privateKey);
  cache.set(dataDir, signer);
  return signer;
}

function signerFor(privateKey: KeyObject): Signer {
  const publicKey = createPublicKey(privateKey);
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    fingerprint: publicKeyFingerprint(publicKey),
    sign: (statement) => sign(null, Buffer.from(canonicalJson(statement), 'utf8'), privateKey).toString('base64'),
  };
}

/** SHA-256 (hex) of a public key's SPKI DER bytes. */
export function publicKeyFingerprint(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/**
 * Canonical JSON: object keys in code-point order at every level, no whitespace. Only
 * strings, finite numbers, booleans, null, arrays and plain objects are allowed.
 * @throws TypeError on anything else (undefined, NaN, functions, bigints).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no NaN or Infinity');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
}

/**
 * True when `signature` (base64) is a valid Ed25519 signature by `publicKeyPem` over the
 * canonical JSON of `statement`. Never throws for a bad signature or key: returns false.
 */
export function verifyStatement(statement: unknown, signature: string, publicKeyPem: string): boolean {
  try {
    const sig = Buffer.from(signature, 'base64');
    if (sig.length !== 64) return false;
    return verify(null, Buffer.from(canonicalJson(statement), 'utf8'), createPublicKey(publicKeyPem), sig);
  } catch {
    return false;
  }
}
