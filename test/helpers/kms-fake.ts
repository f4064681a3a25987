/**
 * A loopback AWS KMS that speaks KMS's real JSON protocol (POST /, `X-Amz-Target:
 * TrentService.<Op>`, `application/x-amz-json-1.1`, base64 blobs, errors as HTTP 400 with
 * `{"__type": ..., "message": ...}`), so the real @aws-sdk/client-kms can be tested without
 * AWS. Symmetric keys only; the ciphertext blob names its key and is sealed with AES-256-GCM
 * under that key with the encryption context as associated data, as KMS does.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const TEST_ACCESS_KEY = 'AKIAFAKEKMS000000000';
export const TEST_CREDENTIALS = {
  accessKeyId: TEST_ACCESS_KEY,
  secretAccessKey: 'fake-secret-access-key-for-loopback-tests',
};

export interface KmsCall {
  target: string;
  keyId: string | undefined;
  encryptionContext: Record<string, string> | undefined;
}

export interface FakeKms {
  endpoint: string;
  region: string;
  calls: KmsCall[];
  /** Creates a key; returns its ARN. */
  createKey(id: string): string;
  disableKey(id: string): void;
  /** The next `n` requests answer HTTP 500 KMSInternalException. */
  failNext(n: number): void;
  close(): Promise<void>;
}

class KmsFault extends Error {
  type: string;
  constructor(type: string, message: string) {
    super(message);
    this.type = type;
  }
}

const ACCOUNT = '111122223333';

/** Starts the fake on 127.0.0.1 (a random port). */
export async function startFakeKms(region = 'eu-west-1'): Promise<FakeKms> {
  const keys = new Map<string, { arn: string; material: Buffer; enabled: boolean }>();
  const calls: KmsCall[] = [];
  let failures = 0;

  const find = (keyId: unknown) => {
    const id = (typeof keyId === 'string' ? keyId : '').replace(/^arn:aws:kms:[^:]+:\d+:key\//, '');
    const key = keys.get(id);
    if (!key) throw new KmsFault('NotFoundException', `Key '${String(keyId)}' does not exist`);
    if (!key.enabled) throw new KmsFault('DisabledException', `${key.arn} is disabled.`);
    return { id, ...key };
  };
  const aad = (ctx: unknown) =>
    Buffer.from(
      JSON.stringify(
        Object.fromEntries(Object.entries((ctx ?? {}) as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : 1))),
      ),
    );
  const seal = (keyId: unknown, plaintext: Buffer, ctx: unknown) => {
    const key = find(keyId);
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key.material, nonce);
    c.setAAD(aad(ctx));
    const id = Buffer.from(key.id);
    const blob = Buffer.concat([Buffer.of(id.length), id, nonce, c.update(plaintext), c.final(), c.getAuthTag()]);
    return { CiphertextBlob: blob.toString('base64'), KeyId: key.arn };
  };
  const open = (b64: unknown, ctx: unknown, keyId: unknown) => {
    const blob = Buffer.from(typeof b64 === 'string' ? b64 : '', 'base64');
    const idLen = blob[0] ?? 0;
    if (blob.length < 1 + idLen + 12 + 16) throw new KmsFault('InvalidCiphertextException', '');
    const key = find(blob.subarray(1, 1 + idLen).toString());
    if (keyId !== undefined && find(keyId).id !== key.id)
      throw new KmsFault(
        'IncorrectKeyException',
        'The key ID in the request does not identify a KMS key that can perform this operation.',
      );
    try {
      const d = createDecipheriv('aes-256-gcm', key.material, blob.subarray(1 + idLen, 13 + idLen));
      d.setAAD(aad(ctx));
      d.setAuthTag(blob.subarray(blob.length - 16));
      return {
        plaintext: Buffer.concat([d.update(blob.subarray(13 + idLen, blob.length - 16)), d.final()]),
        arn: key.arn,
      };
    } catch {
      throw new KmsFault('InvalidCiphertextException', '');
    }
  };

  const ops: Record<string, (r: Record<string, unknown>) => unknown> = {
    GenerateDataKey(r) {
      if (r.KeySpec !== 'AES_256' && r.NumberOfBytes === undefined)
        throw new KmsFault('ValidationException', 'KeySpec or NumberOfBytes is required');
      const plaintext = randomBytes(r.KeySpec === 'AES_256' ? 32 : Number(r.NumberOfBytes));
      return { ...seal(r.KeyId, plaintext, r.EncryptionContext), Plaintext: plaintext.toString('base64') };
    },
    Encrypt: (r) => seal(r.KeyId, Buffer.from(String(r.Plaintext), 'base64'), r.EncryptionContext),
    Decrypt(r) {
      const { plaintext, arn } = open(r.CiphertextBlob, r.EncryptionContext, r.KeyId);
      return { KeyId: arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    },
    ReEncrypt(r) {
      const { plaintext, arn } = open(r.CiphertextBlob, r.SourceEncryptionContext, r.SourceKeyId);
      return { ...seal(r.DestinationKeyId, plaintext, r.DestinationEncryptionContext), SourceKeyId: arn };
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-requestid': randomBytes(8).toString('hex'),
        });
        res.end(JSON.stringify(body));
      };
      try {
        const target = String(req.headers['x-amz-target'] ?? '');
        const op = ops[target.replace(/^TrentService\./, '')];
        if (req.method !== 'POST' || req.url !== '/' || !target.startsWith('TrentService.') || !op)
          throw new KmsFault('UnknownOperationException', '');
        if (req.headers['content-type'] !== 'application/x-amz-json-1.1')
          throw new KmsFault('SerializationException', 'wrong content type');
        if (!String(req.headers.authorization ?? '').startsWith(`AWS4-HMAC-SHA256 Credential=${TEST_ACCESS_KEY}/`))
          throw new KmsFault('UnrecognizedClientException', 'The security token included in the request is invalid.');
        const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
        calls.push({
          target,
          keyId: (body.KeyId ?? body.DestinationKeyId) as string | undefined,
          encryptionContext: (body.EncryptionContext ?? body.DestinationEncryptionContext) as
            Record<string, string> | undefined,
        });
        if (failures > 0) {
          failures--;
          return reply(500, { __type: 'KMSInternalException', message: 'injected failure' });
        }
        reply(200, op(body));
      } catch (err) {
        if (err instanceof KmsFault) reply(400, { __type: err.type, message: err.message });
        else reply(400, { __type: 'SerializationException', message: 'bad request' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    calls,
    createKey(id) {
      const arn = `arn:aws:kms:${region}:${ACCOUNT}:key/${id}`;
      keys.set(id, { arn, material: randomBytes(32), enabled: true });
      return arn;
    },
    disableKey(id) {
      const k = keys.get(id);
      if (k) k.enabled = false;
    },
    failNext(n) {
      failures = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
