/**
 * Data keys from AWS KMS: GenerateDataKey (AES_256) and Decrypt, both with the session's
 * encryption context, so KMS itself refuses a wrapped key presented for another session
 * (and CloudTrail records which session each unwrap was for). The KMS key is one per
 * deployment, or per organisation when a customer brings its own key (`keyIdFor`).
 *
 * Credentials come from the AWS SDK's default chain (instance role, web identity, the
 * standard AWS_* variables) unless given. Every call is a network round trip: never make one
 * while a tenant transaction holds a database connection.
 */
import {
  DecryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  KMSServiceException,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import {
  checkContext,
  DATA_KEY_BYTES,
  KeyError,
  type DataKey,
  type KeyContext,
  type KeyErrorCode,
  type KeyProvider,
  type WrappedKey,
} from './KeyProvider.ts';

export interface AwsKmsProviderOptions {
  /** The deployment's KMS key: id, ARN or `alias/...`. */
  readonly keyId: string;
  /** AWS region of the key, e.g. `eu-west-1`. */
  readonly region: string;
  /** Custom endpoint (VPC endpoint, or a loopback fake in tests); unset: the public one. */
  readonly endpoint?: string | undefined;
  /** Static credentials; unset: the SDK's default provider chain. */
  readonly credentials?:
    { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string } | undefined;
  /**
   * An organisation's own KMS key (bring your own key), or undefined for the deployment's
   * key. Consulted when generating and re-wrapping; unwrapping uses the key the record names.
   */
  readonly keyIdFor?: ((organizationId: string) => string | undefined | Promise<string | undefined>) | undefined;
  /** SDK attempts per call, including retries of throttling and 5xx (default 3). */
  readonly maxAttempts?: number | undefined;
  /** Milliseconds before a call is abandoned (default 10 000). */
  readonly requestTimeoutMs?: number | undefined;
}

/** KMS errors that mean "this ciphertext does not open here", as opposed to an outage. */
const REFUSALS: Record<string, KeyErrorCode> = {
  InvalidCiphertextException: 'key_unwrap_failed',
  IncorrectKeyException: 'key_unwrap_failed',
  NotFoundException: 'unknown_key',
  InvalidArnException: 'unknown_key',
  InvalidKeyUsageException: 'unknown_key',
  DisabledException: 'key_access_denied',
  KMSInvalidStateException: 'key_access_denied',
  AccessDeniedException: 'key_access_denied',
};

export class AwsKmsProvider implements KeyProvider {
  readonly name = 'aws-kms' as const;
  readonly #client: KMSClient;
  readonly #keyId: string;
  readonly #keyIdFor: AwsKmsProviderOptions['keyIdFor'];

  /**
   * A provider over one KMS client; creating it makes no network call.
   * @throws Error when `keyId` or `region` is empty.
   */
  constructor(opts: AwsKmsProviderOptions) {
    if (!opts.keyId || !opts.region) throw new Error('AwsKmsProvider needs a key id and a region');
    this.#keyId = opts.keyId;
    this.#keyIdFor = opts.keyIdFor;
    this.#client = new KMSClient({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      maxAttempts: opts.maxAttempts ?? 3,
      requestHandler: {
        requestTimeout: opts.requestTimeoutMs ?? 10_000,
        connectionTimeout: Math.min(opts.requestTimeoutMs ?? 10_000, 5_000),
      },
    });
  }

  /** {@inheritDoc KeyProvider.generateDataKey} */
  async generateDataKey(context: KeyContext): Promise<DataKey> {
    const ctx = checkContext(context);
    const keyId = await this.#keyFor(ctx.organizationId);
    const res = await this.#send(() =>
      this.#client.send(
        new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: { ...ctx } }),
      ),
    );
    if (!res.Plaintext || res.Plaintext.length !== DATA_KEY_BYTES || !res.CiphertextBlob) {
      throw new KeyError('key_provider_unavailable', 'KMS returned an unexpected data key');
    }
    const plaintext = Buffer.from(res.Plaintext);
    res.Plaintext.fill(0); // keep one copy of the key in memory, not two
    return { plaintext, wrapped: this.#record(res.KeyId ?? keyId, res.CiphertextBlob) };
  }

  /** {@inheritDoc KeyProvider.decrypt} */
  async decrypt(wrapped: WrappedKey, context: KeyContext): Promise<Buffer> {
    const ctx = checkContext(context);
    this.#mine(wrapped);
    const res = await this.#send(() =>
      this.#client.send(
        new DecryptCommand({
          CiphertextBlob: Buffer.from(wrapped.ciphertext, 'base64'),
          KeyId: wrapped.keyId,
          EncryptionContext: { ...ctx },
        }),
      ),
    );
    if (!res.Plaintext || res.Plaintext.length !== DATA_KEY_BYTES)
      throw new KeyError('key_unwrap_failed', 'KMS returned no 32-byte key');
    const plaintext = Buffer.from(res.Plaintext);
    res.Plaintext.fill(0);
    return plaintext;
  }

  /**
   * {@inheritDoc KeyProvider.rewrap} Uses KMS ReEncrypt: the plaintext never leaves KMS.
   * Re-wrapping onto an organisation's own key moves the record to that key.
   */
  async rewrap(wrapped: WrappedKey, context: KeyContext): Promise<WrappedKey> {
    const ctx = checkContext(context);
    this.#mine(wrapped);
    const dest = await this.#keyFor(ctx.organizationId);
    const res = await this.#send(() =>
      this.#client.send(
        new ReEncryptCommand({
          CiphertextBlob: Buffer.from(wrapped.ciphertext, 'base64'),
          SourceKeyId: wrapped.keyId,
          SourceEncryptionContext: { ...ctx },
          DestinationKeyId: dest,
          DestinationEncryptionContext: { ...ctx },
        }),
      ),
    );
    if (!res.CiphertextBlob) throw new KeyError('key_provider_unavailable', 'KMS returned no ciphertext');
    return this.#record(res.KeyId ?? dest, res.CiphertextBlob);
  }

  /** Closes the SDK's connection pool. */
  close(): void {
    this.#client.destroy();
  }

  async #keyFor(organizationId: string): Promise<string> {
    return (await this.#keyIdFor?.(organizationId)) || this.#keyId;
  }

  #mine(wrapped: WrappedKey): void {
    if (wrapped.provider !== 'aws-kms')
      throw new KeyError('key_provider_mismatch', `a key wrapped by ${wrapped.provider} cannot be opened by AWS KMS`);
  }

  #record(keyId: string, blob: Uint8Array): WrappedKey {
    return { version: 1, provider: 'aws-kms', keyId, ciphertext: Buffer.from(blob).toString('base64') };
  }

  async #send<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof KeyError) throw err;
      const name = err instanceof Error ? err.name : '';
      const refusal = REFUSALS[name];
      if (refusal) throw new KeyError(refusal, `KMS refused the request (${name})`, { cause: err });
      const what = err instanceof KMSServiceException ? name : 'network error';
      throw new KeyError('key_provider_unavailable', `KMS is unavailable (${what})`, { cause: err });
    }
  }
}
