/** Request schemas for transcripts and transcription settings. */
import { z } from 'zod';
import { EXPORT_FORMATS } from '../../transcription/transcript.ts';
import { WHISPER_LANGUAGES } from '../../transcription/languages.ts';

export const transcriptParams = z.object({ orgId: z.uuid(), id: z.uuid() });
export const exportQuery = z.object({ format: z.enum(EXPORT_FORMATS) });
export const language = z
  .string()
  .refine(
    (l) => l === 'auto' || WHISPER_LANGUAGES.has(l),
    "must be 'auto' or a language code Whisper knows (e.g. en, de, fr)",
  );
export const settingsBody = z
  .object({ auto: z.boolean().optional(), language: language.optional() })
  .strict()
  .refine((b) => b.auto !== undefined || b.language !== undefined, 'give auto, language or both');
