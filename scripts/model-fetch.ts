/**
 * `npm run model:fetch -- NAME [--repo OWNER/REPO] [--dtype fp32|fp16|q8|q4] [--endpoint URL]`:
 * downloads a Whisper ONNX export (transformers.js layout) from the Hugging Face hub into
 * MODEL_DIR/NAME, for operators; the product itself never downloads anything. NAME is one
 * of the names below (or any folder name with --repo). Set TRANSCRIBE_MODEL=NAME to use it.
 * Each file is written to a temporary name and renamed when complete, so a cut-off
 * download never looks installed. Not used by tests (it needs the network).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { parseConfig } from '../server/core/config.ts';

/** Known models and their hub repositories (ONNX exports in the transformers.js layout). */
const KNOWN: Record<string, string> = {
  'whisper-tiny': 'onnx-community/whisper-tiny',
  'whisper-tiny.en': 'onnx-community/whisper-tiny.en',
  'whisper-base': 'onnx-community/whisper-base',
  'whisper-base.en': 'onnx-community/whisper-base.en',
  'whisper-small': 'onnx-community/whisper-small',
  'whisper-small.en': 'onnx-community/whisper-small.en',
  'whisper-medium': 'Xenova/whisper-medium',
  'whisper-large-v3': 'onnx-community/whisper-large-v3',
  'whisper-large-v3-turbo': 'onnx-community/whisper-large-v3-turbo',
};
/** ONNX file name suffix of each weights precision (transformers.js' convention). */
const SUFFIX: Record<string, string> = { fp32: '', fp16: '_fp16', q8: '_quantized', q4: '_q4' };
const CONFIG_FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
];
const OPTIONAL_FILES = ['special_tokens_map.json', 'added_tokens.json', 'normalizer.json'];

const out = (line: string) => process.stdout.write(`${line}\n`);
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    repo: { type: 'string' },
    dtype: { type: 'string', default: 'fp32' },
    endpoint: { type: 'string', default: 'https://huggingface.co' },
  },
});
const name = positionals[0];
const repo = values.repo ?? (name ? KNOWN[name] : undefined);
const suffix = SUFFIX[values.dtype];
if (
  !name ||
  !/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name) ||
  !repo ||
  !/^[\w.-]+\/[\w.-]+$/.test(repo) ||
  suffix === undefined
) {
  out(`usage: npm run model:fetch -- NAME [--repo OWNER/REPO] [--dtype ${Object.keys(SUFFIX).join('|')}]`);
  out(`known names: ${Object.keys(KNOWN).join(', ')}`);
  process.exit(2);
}
const dir = path.join(parseConfig().transcription.modelDir, name);

/** Downloads one file; returns false on 404 when it is optional. */
async function fetchFile(file: string, optional: boolean): Promise<boolean> {
  const url = `${values.endpoint.replace(/\/+$/, '')}/${repo}/resolve/main/${file}`;
  const res = await fetch(url, { redirect: 'follow' });
  if (res.status === 404 && optional) return false;
  if (!res.ok || !res.body) throw new Error(`${file}: HTTP ${res.status}`);
  const target = path.join(dir, file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const partial = `${target}.part`;
  const reader = res.body.getReader();
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  }
  await pipeline(Readable.from(chunks()), fs.createWriteStream(partial));
  fs.renameSync(partial, target);
  out(`  ${file} (${(fs.statSync(target).size / 1e6).toFixed(1)} MB)`);
  return true;
}

out(`fetching ${repo} (${values.dtype}) into ${dir}`);
for (const f of CONFIG_FILES) await fetchFile(f, false);
for (const f of OPTIONAL_FILES) await fetchFile(f, true);
for (const part of ['encoder_model', 'decoder_model_merged']) {
  await fetchFile(`onnx/${part}${suffix}.onnx`, false);
  // Large models keep their weights beside the graph.
  await fetchFile(`onnx/${part}${suffix}.onnx_data`, true);
}
out(`done: set TRANSCRIBE_MODEL=${name}${values.dtype === 'fp32' ? '' : ` and TRANSCRIBE_DTYPE=${values.dtype}`}`);
