/** The events an endpoint can subscribe to, and the one sent by "send test event". */
export const WEBHOOK_EVENTS = [
  'session.ended',
  'recording.ready',
  'transcript.ready',
  'transcript.failed',
  'export.ready',
  'member.added',
  'member.removed',
] as const;

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** Sent only by POST …/webhooks/:id/test, whatever the endpoint subscribed to. */
export const TEST_EVENT = 'webhook.test';
