/**
 * What passes between an export job (server/services/export.ts) and its worker thread
 * (./exportWorker.ts); kept apart so the worker loads none of the API's services.
 */
import type { Config } from '../core/config.ts';
import type { AgeRecipient } from '../../lib/archive/ageStream.ts';

export interface QueuedJob {
  id: string;
  orgId: string;
  /** The person who asked; null when an API key did (the audit entries then name no person). */
  userId: string | null;
  to: AgeRecipient;
}

/** What an export's worker thread is given (structured-cloned). */
export interface ExportWorkerData {
  config: Config;
  ownerUrl: string;
  appUrl: string;
  /** The parent's clock minus the system clock when the job started (tests move the clock). */
  clockOffsetMs: number;
  job: QueuedJob;
  /** Object key the file is written to. */
  key: string;
}
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}
/** Worker → parent: a progress write to acknowledge, or the outcome. */
export type ExportWorkerMessage =
  | { type: 'progress'; sessionsDone: number; bytes: number }
  | { type: 'done'; sessionsDone: number; bytes: number }
  | { type: 'failed'; error: SerializedError };
/** Parent → worker: a progress write done (or the error it threw). */
export interface ExportParentMessage {
  type: 'ack';
  error?: SerializedError;
}

export const errorOf = (e: SerializedError): Error => Object.assign(new Error(e.message), e);
export const serialize = (err: unknown): SerializedError => {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (err as { code?: unknown } | null)?.code;
  return { name: e.name, message: e.message, stack: e.stack, code: typeof code === 'string' ? code : undefined };
};
