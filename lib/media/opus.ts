/**
 * Opus packet facts (RFC 6716 §3.1) and the packets the muxers invent: identification and
 * comment headers (RFC 7845 §5) and fillers for time with no audio: concealment packets
 * (a zero-length frame, which every decoder must treat as a lost frame and conceal) and
 * silent CELT frames (`F8 FF FE`, the silence flag set, which decodes to digital silence).
 */

/** Samples at 48 kHz of one frame for each of the 32 TOC configurations. */
const FRAME_SAMPLES: readonly number[] = [
  480,
  960,
  1920,
  2880,
  480,
  960,
  1920,
  2880,
  480,
  960,
  1920,
  2880, // SILK NB, MB, WB
  480,
  960,
  480,
  960, // hybrid SWB, FB
  120,
  240,
  480,
  960,
  120,
  240,
  480,
  960,
  120,
  240,
  480,
  960,
  120,
  240,
  480,
  960, // CELT
];

/** The most audio one Opus packet may carry (120 ms at 48 kHz). */
export const MAX_PACKET_SAMPLES = 5760;

/** Samples at 48 kHz of each frame in a packet with this TOC byte. */
export function opusFrameSamples(toc: number): number {
  return FRAME_SAMPLES[(toc >> 3) & 31] ?? 0;
}

/**
 * Duration in 48 kHz samples of an Opus packet, from its TOC byte and (code 3) frame count.
 * Returns undefined when the packet is empty or its header is invalid.
 */
export function opusPacketSamples(packet: Buffer): number | undefined {
  const toc = packet[0];
  if (toc === undefined) return undefined;
  const frame = opusFrameSamples(toc);
  let frames: number;
  switch (toc & 3) {
    case 0:
      frames = 1;
      break;
    case 1:
    case 2:
      frames = 2;
      break;
    default: {
      const count = packet[1];
      if (count === undefined) return undefined;
      frames = count & 0x3f;
    }
  }
  const samples = frames * frame;
  return samples > 0 && samples <= MAX_PACKET_SAMPLES ? samples : undefined;
}

/** True when the packet's TOC byte has the stereo flag set. */
export function opusIsStereo(packet: Buffer): boolean {
  return ((packet[0] ?? 0) & 0x04) !== 0;
}

/** A packet of `frames` zero-length frames with `toc`'s configuration: decoders conceal them. */
export function concealmentPacket(toc: number, frames: number): Buffer {
  if (frames === 1) return Buffer.from([toc & 0xfc]);
  // Code 3, CBR, no padding: a frame count byte and no frame data at all.
  return Buffer.from([(toc & 0xfc) | 3, frames & 0x3f]);
}

/** CELT-only fullband configurations by frame size in samples. */
const CELT_FB_CONFIG = new Map<number, number>([
  [120, 28],
  [240, 29],
  [480, 30],
  [960, 31],
]);

/**
 * A packet of `frames` silent CELT frames of `frameSamples` (120, 240, 480 or 960) each.
 * @throws RangeError for another frame size or a packet longer than 120 ms.
 */
export function silencePacket(frameSamples: number, frames: number, stereo: boolean): Buffer {
  const config = CELT_FB_CONFIG.get(frameSamples);
  if (config === undefined || frames < 1 || frames * frameSamples > MAX_PACKET_SAMPLES)
    throw new RangeError('invalid silence packet');
  const toc = (config << 3) | (stereo ? 0x04 : 0);
  if (frames === 1) return Buffer.from([toc, 0xff, 0xfe]);
  const out = Buffer.alloc(2 + frames * 2);
  out[0] = toc | 3;
  out[1] = frames;
  for (let i = 0; i < frames; i++) {
    out[2 + i * 2] = 0xff;
    out[3 + i * 2] = 0xfe;
  }
  return out;
}

/**
 * Packets covering `samples` of time (rounded down to 2.5 ms) with nothing but silence,
 * in the fewest packets: 120 ms packets of 20 ms frames, then smaller frames for the rest.
 */
export function* silence(samples: number, stereo: boolean): Generator<{ packet: Buffer; samples: number }> {
  let left = samples;
  while (left >= 960) {
    const frames = Math.min(6, Math.floor(left / 960));
    yield { packet: silencePacket(960, frames, stereo), samples: frames * 960 };
    left -= frames * 960;
  }
  for (const size of [480, 240, 120]) {
    if (left >= size) {
      yield { packet: silencePacket(size, 1, stereo), samples: size };
      left -= size;
    }
  }
}

/** The OpusHead identification header (RFC 7845 §5.1), channel mapping family 0. */
export function opusHead(channels: 1 | 2, preSkip: number, inputRate = 48000): Buffer {
  const out = Buffer.alloc(19);
  out.write('OpusHead', 0, 'ascii');
  out[8] = 1;
  out[9] = channels;
  out.writeUInt16LE(preSkip, 10);
  out.writeUInt32LE(inputRate, 12);
  out.writeInt16LE(0, 16);
  out[18] = 0;
  return out;
}

/** The OpusTags comment header (RFC 7845 §5.2) with a vendor string and `KEY=value` comments. */
export function opusTags(vendor: string, comments: readonly string[] = []): Buffer {
  const parts = [Buffer.from('OpusTags', 'ascii'), lengthPrefixed(vendor)];
  const count = Buffer.alloc(4);
  count.writeUInt32LE(comments.length, 0);
  parts.push(count, ...comments.map(lengthPrefixed));
  return Buffer.concat(parts);
}

function lengthPrefixed(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length, 0);
  return Buffer.concat([len, body]);
}
