/**
 * Builds the configured {@link KeyProvider} from plain options (lib/ never reads server
 * config; server/core/storage.ts maps Config onto these options).
 */
import { AwsKmsProvider, type AwsKmsProviderOptions } from './AwsKmsProvider.ts';
import { LocalKeyProvider, type LocalKeyProviderOptions } from './LocalKeyProvider.ts';
import type { KeyProvider } from './KeyProvider.ts';

export type KeyProviderOptions =
  ({ readonly kind: 'local' } & LocalKeyProviderOptions) | ({ readonly kind: 'aws-kms' } & AwsKmsProviderOptions);

/**
 * The key provider for `opts.kind`. `local` reads (or creates, 0600) its KEK files now;
 * `aws-kms` makes no call until first used.
 * @throws Error on a malformed KEK or missing KMS key id / region.
 */
export function createKeyProvider(opts: KeyProviderOptions): KeyProvider {
  return opts.kind === 'local' ? LocalKeyProvider.open(opts) : new AwsKmsProvider(opts);
}

export * from './KeyProvider.ts';
export { AwsKmsProvider, type AwsKmsProviderOptions } from './AwsKmsProvider.ts';
export { LocalKeyProvider, kekId, type LocalKeyProviderOptions } from './LocalKeyProvider.ts';
