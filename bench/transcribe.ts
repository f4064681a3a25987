/**
 * `npm run bench:transcribe`: real-time factor of the transcription pipeline per execution
 * provider, on real speech (pocketsphinx-testdata's LibriVox utterances with pauses between
 * them, encoded to Opus RTP by ffmpeg, as a captured track), stage by stage: audio seconds
 * per wall second for the VAD, the Opus decode (with resampling) and the speech model.
 * One line per provider:
 *
 *     transcribe: PROVIDER RTF X (vad A, decode B, model C)
 *
 * Options: `--model DIR` (a model folder; default ../shared/models/whisper-tiny-random),
 * `--device cuda|cpu` (default: cpu, and cuda when it loads), `--repeat N` (the utterance
 * set N times; default 3, about 1.5 minutes of audio).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { captureRtp } from '../test/helpers/media.ts';
import { speechFile } from '../test/helpers/transcription.ts';
import type { RtpRecord } from '../lib/chunks/container.ts';
import { SpeechModel } from '../server/transcription/model.ts';
import { SileroVad } from '../server/transcription/vad.ts';
import { transcribeTracks } from '../server/transcription/pipeline.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: path.resolve(import.meta.dirname, '../../shared/models/whisper-tiny-random') },
    device: { type: 'string' },
    repeat: { type: 'string', default: '3' },
  },
});
const modelPath = path.resolve(values.model);
if (!fs.existsSync(path.join(modelPath, 'config.json'))) {
  console.error(`no model at ${modelPath} (give --model DIR)`);
  process.exit(2);
}
if (values.device && values.device !== 'cpu' && values.device !== 'cuda') {
  console.error('--device is cuda or cpu');
  process.exit(2);
}

// One track: every utterance in turn, 2 s of silence between them, `repeat` times.
const base = 1_700_000_000_000_000n;
const records: RtpRecord[] = [];
let payloadType = 111;
let at = 1;
for (let r = 0; r < Number(values.repeat); r++) {
  for (const id of ['0870', '0880', '0890', '0920', '0930']) {
    const s = speechFile(id);
    const captured = await captureRtp(['-i', s.file, '-ac', '1', '-c:a', 'libopus', '-b:a', '32k'], {
      baseUs: base + BigInt(Math.round(at * 1e6)),
    });
    payloadType = captured.meta.payloadType;
    records.push(...captured.records);
    at += s.seconds + 2;
  }
}

const vad = await SileroVad.load();
const devices = values.device ? [values.device as 'cpu' | 'cuda'] : (['cpu', 'cuda'] as const);
for (const device of devices) {
  let model: SpeechModel;
  try {
    model = await SpeechModel.load({
      modelDir: path.dirname(modelPath),
      name: path.basename(modelPath),
      device,
      dtype: 'auto',
      words: true,
    });
  } catch {
    console.log(`transcribe: ${device} unavailable on this host`);
    continue;
  }
  // One warm-up window so one-time graph optimisation does not count.
  await model.transcribe(new Float32Array(16000), 'en');
  const track = {
    trackId: 't',
    participantId: 'p',
    speaker: 'bench',
    take: 1,
    offsetS: 0,
    originUs: base,
    payloadType,
    records: () => records,
  };
  const started = performance.now();
  const result = await transcribeTracks({ vad, model }, [track], { language: 'en' });
  const wall = (performance.now() - started) / 1000;
  const rtf = (stage: number) => (stage > 0 ? result.audioSeconds / stage : Infinity).toFixed(1);
  console.log(
    `transcribe: ${model.device} RTF ${rtf(wall)} (vad ${rtf(result.times.vad)}, decode ${rtf(result.times.decode)}, model ${rtf(result.times.model)})`,
  );
  console.log(
    `  ${result.audioSeconds.toFixed(1)} s of audio, ${result.speechSeconds.toFixed(1)} s of it speech, ${result.segments.length} segments, model ${model.name}`,
  );
  await model.close();
}
await vad.close();
