/**
 * 48 kHz → 16 kHz, the rate speech models and the VAD take: an integer factor of 3, so a
 * linear-phase low-pass FIR (windowed sinc, cut-off just under the new Nyquist frequency of
 * 8 kHz) followed by keeping every third sample. Only the kept outputs are computed, and
 * the filter state carries across pushes, so a track is resampled in pieces as it decodes
 * with the same result as in one go.
 */

/** Input samples per output sample. */
export const DECIMATION = 3;
const TAPS = 96;
/** Cut-off as a fraction of the input rate: 7.2 kHz of 48 kHz, below the 8 kHz Nyquist. */
const CUTOFF = 7200 / 48000;

function designFilter(): Float32Array {
  const h = new Float32Array(TAPS);
  const mid = (TAPS - 1) / 2;
  let sum = 0;
  for (let i = 0; i < TAPS; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * CUTOFF : Math.sin(2 * Math.PI * CUTOFF * x) / (Math.PI * x);
    // Blackman window: about -74 dB stop band, ample for speech recognition.
    const w = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (TAPS - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (TAPS - 1));
    h[i] = sinc * w;
    sum += sinc * w;
  }
  for (let i = 0; i < TAPS; i++) h[i] = (h[i] ?? 0) / sum; // unity gain at DC
  return h;
}

const FILTER = designFilter();
const REVERSED = FILTER.slice().reverse();
/** Delay of the filter in output samples (taps/2 input samples), removed so times stay true. */
const DELAY_IN = Math.floor(TAPS / 2);

/** Streaming 3:1 decimator. Push 48 kHz blocks, read 16 kHz blocks; call {@link end} once. */
export class Decimator {
  #history = new Float32Array(TAPS - 1);
  /** Input samples consumed so far (including the leading filter delay). */
  #consumed = 0;
  /** Index (in the delay-compensated input) of the next output sample. */
  #nextOut = 0;

  /** Filters and decimates `input`; returns the output samples now complete. */
  push(input: Float32Array): Float32Array {
    const hist = this.#history.length;
    const buf = new Float32Array(hist + input.length);
    buf.set(this.#history, 0);
    buf.set(input, hist);
    // buf[0] is input sample (consumed - hist); output n is centred on input 3n and needs
    // inputs 3n - DELAY_IN + 1 … 3n + DELAY_IN (zeros before the first sample).
    const base = this.#consumed - hist;
    const available = this.#consumed + input.length;
    const count = Math.max(0, Math.floor((available - 1 - DELAY_IN) / DECIMATION) + 1 - this.#nextOut);
    const out = new Float32Array(count);
    for (let j = 0; j < count; j++) {
      const first = (this.#nextOut + j) * DECIMATION + DELAY_IN - (TAPS - 1) - base;
      let acc = 0;
      const k0 = first < 0 ? -first : 0;
      for (let k = k0; k < TAPS; k++) acc += (buf[first + k] as number) * (REVERSED[k] as number);
      out[j] = acc;
    }
    this.#nextOut += count;
    this.#consumed = available;
    this.#history = buf.slice(Math.max(0, buf.length - (TAPS - 1)));
    return out;
  }

  /** Flushes the tail (zero-padded) so the output covers every input sample. */
  end(): Float32Array {
    const wanted = Math.ceil(this.#consumed / DECIMATION) - this.#nextOut;
    if (wanted <= 0) return new Float32Array(0);
    const tail = this.push(new Float32Array(DELAY_IN + DECIMATION));
    return tail.subarray(0, Math.max(0, wanted));
  }
}

/** Resamples a whole 48 kHz signal to 16 kHz (length ⌈n/3⌉). */
export function resample48to16(input: Float32Array): Float32Array {
  const d = new Decimator();
  const a = d.push(input);
  const b = d.end();
  const out = new Float32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
