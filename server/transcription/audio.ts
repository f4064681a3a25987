/**
 * A captured Opus track → 16 kHz mono PCM, in memory only. Packets are put in order and
 * placed on the recording's clock by the same code the downloads use (lib/media/source.ts),
 * so a time in the PCM is a time in the recording: gaps (loss, DTX, a stalled sender)
 * become silence, packets before the origin are dropped. Opus is decoded at 48 kHz by
 * libopus (opus-decoder, WebAssembly), then low-passed and decimated to 16 kHz.
 */
import { OpusDecoder } from 'opus-decoder';
import { opusPacketSamples } from '../../lib/media/opus.ts';
import { newMuxStats, type MuxStats } from '../../lib/media/rtp.ts';
import { orderedPackets, Timeline, type RecordSource } from '../../lib/media/source.ts';
import { Decimator } from './resample.ts';

/** Sample rate of the PCM this module produces. */
export const PCM_RATE = 16000;
const OPUS_RATE = 48000;
/** Gaps shorter than this (48 kHz samples) are timing jitter, not missing audio. */
const MIN_GAP = 120;

/** Options for {@link decodeOpusTrack}. */
export interface DecodeOptions {
  /** Wall-clock time (µs since the epoch) of sample 0: the take's start, so tracks line up. */
  originUs: bigint;
  /** Only packets of this RTP payload type are decoded. */
  payloadType?: number | undefined;
  /** Filled in while decoding: packets, losses, silence inserted, … */
  stats?: MuxStats | undefined;
}

/** Collects blocks of PCM into one array without copying more than once. */
class PcmBuilder {
  readonly #blocks: Float32Array[] = [];
  length = 0;
  push(b: Float32Array): void {
    if (b.length === 0) return;
    this.#blocks.push(b);
    this.length += b.length;
  }
  build(): Float32Array {
    const out = new Float32Array(this.length);
    let o = 0;
    for (const b of this.#blocks) {
      out.set(b, o);
      o += b.length;
    }
    this.#blocks.length = 0;
    return out;
  }
}

/**
 * Decodes a track's captured RTP (records in capture order, e.g. straight from the opened
 * chunks) into 16 kHz mono Float32 PCM whose sample 0 is `originUs`. Malformed packets
 * become silence; errors thrown by `records` (decryption) propagate.
 */
export async function decodeOpusTrack(records: RecordSource, opts: DecodeOptions): Promise<Float32Array> {
  const stats = opts.stats ?? newMuxStats();
  const decoder = new OpusDecoder({ channels: 1, sampleRate: OPUS_RATE, preSkip: 0 });
  await decoder.ready;
  const timeline = new Timeline(OPUS_RATE, opts.originUs);
  const decimator = new Decimator();
  const out = new PcmBuilder();
  let written = 0; // 48 kHz samples emitted so far
  const emit = (block: Float32Array) => {
    written += block.length;
    out.push(decimator.push(block));
  };
  try {
    for await (const p of orderedPackets(records, { payloadType: opts.payloadType }, stats)) {
      const payload = p.rtp.payload;
      if (payload.length === 0) continue;
      const samples = opusPacketSamples(payload);
      if (samples === undefined) {
        stats.malformed++;
        continue;
      }
      const pos = timeline.place(p);
      if (pos + samples <= written) {
        stats.duplicates++;
        continue;
      }
      if (pos - written >= MIN_GAP) {
        stats.filledSamples += pos - written;
        emit(new Float32Array(pos - written));
      }
      const decoded = decoder.decodeFrame(new Uint8Array(payload.buffer, payload.byteOffset, payload.length));
      let pcm = decoded.channelData[0] ?? new Float32Array(0);
      if (decoded.errors.length > 0 || pcm.length === 0) {
        stats.malformed++;
        pcm = new Float32Array(samples);
      } else {
        stats.written++;
      }
      // Keep only what lies after what is already written (overlap, or a start before the origin).
      const skip = Math.max(0, written - pos);
      if (skip < pcm.length) emit(pcm.subarray(skip));
    }
    out.push(decimator.end());
    return out.build();
  } finally {
    decoder.free();
  }
}
