/**
 * `npm run bench:wer -- --model DIR`: word error rate of a speech model on Debian's
 * pocketsphinx-testdata (five LibriVox utterances with reference text), through the same
 * path production uses: VAD windows, then the model, in English. Prints one line per
 * utterance and the total:
 *
 *     wer: X% (N reference words: S substitutions, D deletions, I insertions)
 *
 * With the random-weight test model the WER is near or above 100% (gibberish); a real
 * Whisper export gives a meaningful number. Options: `--model DIR` (required),
 * `--device cuda|cpu` (default cpu), `--data DIR` (default the Debian package's folder).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SpeechModel } from '../server/transcription/model.ts';
import { SileroVad, speechRegions, speechWindows } from '../server/transcription/vad.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    device: { type: 'string', default: 'cpu' },
    data: { type: 'string', default: '/usr/share/pocketsphinx/test/data/librivox' },
  },
});
if (!values.model || !fs.existsSync(path.join(values.model, 'config.json'))) {
  console.error('usage: npm run bench:wer -- --model DIR   (a transformers.js Whisper folder)');
  process.exit(2);
}
const device = values.device === 'cuda' ? 'cuda' : 'cpu';
const modelPath = path.resolve(values.model);

/** Reads a 16 kHz mono 16-bit PCM WAV file into floats. */
function readWav(file: string): Float32Array {
  const b = fs.readFileSync(file);
  let o = 12;
  let rate = 0;
  while (o + 8 <= b.length) {
    const id = b.toString('ascii', o, o + 4);
    const size = b.readUInt32LE(o + 4);
    if (id === 'fmt ') rate = b.readUInt32LE(o + 12);
    if (id === 'data') {
      if (rate !== 16000 || b.readUInt16LE(22) !== 1) throw new Error(`${file}: need 16 kHz mono`);
      const data = b.subarray(o + 8, o + 8 + size);
      return Float32Array.from({ length: data.length / 2 }, (_, i) => data.readInt16LE(i * 2) / 32768);
    }
    o += 8 + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

/** Lower case, letters, digits and apostrophes only: how the reference is written. */
const words = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}' ]+/gu, ' ')
    .split(/\s+/)
    .filter(Boolean);

/** Word-level edit distance with its substitutions, deletions and insertions. */
function align(ref: string[], hyp: string[]): { s: number; d: number; i: number } {
  const cost: { n: number; s: number; d: number; i: number }[][] = [];
  for (let r = 0; r <= ref.length; r++) {
    cost.push([]);
    for (let h = 0; h <= hyp.length; h++) {
      if (r === 0) cost[r]!.push({ n: h, s: 0, d: 0, i: h });
      else if (h === 0) cost[r]!.push({ n: r, s: 0, d: r, i: 0 });
      else {
        const diag = cost[r - 1]![h - 1]!;
        const same = ref[r - 1] === hyp[h - 1];
        const options = [
          { n: diag.n + (same ? 0 : 1), s: diag.s + (same ? 0 : 1), d: diag.d, i: diag.i },
          { ...cost[r - 1]![h]!, n: cost[r - 1]![h]!.n + 1, d: cost[r - 1]![h]!.d + 1 },
          { ...cost[r]![h - 1]!, n: cost[r]![h - 1]!.n + 1, i: cost[r]![h - 1]!.i + 1 },
        ];
        cost[r]!.push(options.reduce((a, b) => (b.n < a.n ? b : a)));
      }
    }
  }
  const last = cost[ref.length]![hyp.length]!;
  return { s: last.s, d: last.d, i: last.i };
}

const references = new Map<string, string>();
for (const line of fs.readFileSync(path.join(values.data, 'transcription'), 'utf8').split('\n')) {
  const m = /^(.*)\((\S+)\)\s*$/.exec(line.trim());
  if (m?.[1] && m[2]) references.set(m[2], m[1].replace(/<\/?s>/g, '').trim());
}
const model = await SpeechModel.load({
  modelDir: path.dirname(modelPath),
  name: path.basename(modelPath),
  device,
  dtype: 'auto',
  words: false,
});
const vad = await SileroVad.load();
const total = { n: 0, s: 0, d: 0, i: 0 };
for (const [id, reference] of references) {
  const pcm = readWav(path.join(values.data, `${id}.wav`));
  const probs = await vad.probabilities(pcm);
  const windows = speechWindows(speechRegions(probs, pcm.length / 16000), probs);
  const texts: string[] = [];
  for (const w of windows)
    for (const s of await model.transcribe(pcm.subarray(Math.floor(w.start * 16000), Math.ceil(w.end * 16000)), 'en'))
      texts.push(s.text);
  const ref = words(reference);
  const e = align(ref, words(texts.join(' ')));
  total.n += ref.length;
  total.s += e.s;
  total.d += e.d;
  total.i += e.i;
  console.log(
    `${id}: ${(((e.s + e.d + e.i) / ref.length) * 100).toFixed(1)}%  ref: ${reference}\n${' '.repeat(id.length)}        hyp: ${texts.join(' ').trim()}`,
  );
}
const rate = ((total.s + total.d + total.i) / Math.max(1, total.n)) * 100;
console.log(
  `wer: ${rate.toFixed(1)}% (${total.n} reference words: ${total.s} substitutions, ${total.d} deletions, ${total.i} insertions) model ${model.name} on ${model.device}`,
);
await Promise.all([model.close(), vad.close()]);
