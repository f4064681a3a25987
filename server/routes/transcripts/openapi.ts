/** The OpenAPI entries of transcripts and transcription settings (routes/openapi/registry.ts). */
import { z } from 'zod';
import { id, isoTime, type RouteDoc } from '../openapi/registry.ts';
import { transcriptParams, exportQuery, settingsBody } from './schema.ts';

const run = z.object({
  id,
  status: z.string(),
  stage: z.string().nullable(),
  progress: z.number(),
  attempts: z.number().int(),
  reason: z.string(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  created_at: isoTime,
  started_at: isoTime.nullable(),
  finished_at: isoTime.nullable(),
});
const settings = z.object({ auto: z.boolean(), language: z.string() }).loose();

export const transcriptDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/orgs/:orgId/sessions/:id/transcript',
    tag: 'transcripts',
    summary: 'Transcript status, the current run, and the newest transcript’s segments',
    auth: 'org',
    params: transcriptParams,
    responses: {
      200: {
        description: 'Status and transcript (null before the first run finished)',
        schema: z.object({
          session_id: id,
          /** Private mode: the transcript is sealed; only a key holder's browser opens it (then transcript is null). */
          private: z.boolean(),
          status: z.string(),
          run: run.nullable(),
          transcript: z
            .object({ run_id: id, language: z.string(), segments: z.array(z.object({}).loose()) })
            .loose()
            .nullable(),
        }),
      },
    },
    errors: { 404: ['session_not_found'] },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/sessions/:id/transcript/export',
    tag: 'transcripts',
    summary: 'The newest transcript as TXT, SRT, WebVTT or JSON',
    auth: 'org',
    params: transcriptParams,
    query: exportQuery,
    responses: {
      200: { description: 'The file', content: ['text/plain', 'application/x-subrip', 'text/vtt', 'application/json'] },
    },
    errors: {
      404: ['session_not_found', 'transcript_not_found'],
      409: ['private_session'],
      410: ['recording_erased'],
    },
  },
  {
    method: 'post',
    path: '/api/orgs/:orgId/sessions/:id/transcript/rerun',
    tag: 'transcripts',
    summary: 'Transcribe the session again',
    auth: 'org',
    params: transcriptParams,
    responses: { 202: { description: 'The queued run', schema: z.object({ run }) } },
    errors: {
      404: ['session_not_found'],
      409: ['session_open', 'transcription_in_progress', 'private_session'],
      410: ['recording_erased'],
    },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/settings/transcription',
    tag: 'transcripts',
    summary: 'Whether ended sessions are transcribed automatically, and in which language',
    auth: 'org',
    roles: ['owner', 'admin'],
    responses: { 200: { description: 'The settings', schema: settings } },
  },
  {
    method: 'patch',
    path: '/api/orgs/:orgId/settings/transcription',
    tag: 'transcripts',
    summary: 'Change automatic transcription and its language',
    auth: 'org',
    roles: ['owner', 'admin'],
    body: settingsBody,
    responses: { 200: { description: 'The new settings', schema: settings } },
  },
];
