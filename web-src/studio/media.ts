/**
 * Microphone and camera: asking for them with a clear reason when it fails, the devices to
 * pick from (the choice remembered in localStorage), and a level meter for any audio track.
 */

/** Why the microphone or camera could not be opened, in words a guest can act on. */
export function mediaErrorText(err: unknown): string {
  const name = err instanceof DOMException ? err.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Permission denied: your browser blocked the microphone and camera. Allow them for this site (the icon in the address bar) and reload the page.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No microphone found: plug one in (or pick another device), then reload the page.';
    case 'NotReadableError':
    case 'AbortError':
      return 'Your microphone or camera is busy: another application is using it. Close it and reload the page.';
    default:
      return `The microphone could not be opened${err instanceof Error && err.message ? `: ${err.message}` : '.'}`;
  }
}

/** The remembered device choice. */
export interface DevicePrefs {
  mic: string;
  cam: string;
  speaker: string;
}

const PREFS_KEY = 'studio:devices';

/** The devices picked last time (empty strings: the defaults). */
export function loadPrefs(): DevicePrefs {
  try {
    const v = JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}') as Partial<DevicePrefs>;
    return { mic: v.mic ?? '', cam: v.cam ?? '', speaker: v.speaker ?? '' };
  } catch {
    return { mic: '', cam: '', speaker: '' };
  }
}

/** Remembers the devices for next time. */
export function savePrefs(p: DevicePrefs): void {
  localStorage.setItem(PREFS_KEY, JSON.stringify(p));
}

/** `cam` is '' for the default camera and 'off' for none. */
export const CAMERA_OFF = 'off';

/**
 * Opens microphone and camera as chosen. A recording keeps the voice as it was said: no
 * automatic gain or noise suppression reshaping it (echo cancellation stays on for people
 * without headphones). When the camera alone fails, the microphone is still opened.
 * @throws the browser's DOMException when the microphone cannot be opened.
 */
export async function openMedia(p: DevicePrefs): Promise<{ stream: MediaStream; cameraError: string | null }> {
  const audio: MediaTrackConstraints = {
    echoCancellation: true,
    autoGainControl: false,
    noiseSuppression: false,
    ...(p.mic ? { deviceId: { exact: p.mic } } : {}),
  };
  if (p.cam === CAMERA_OFF) return { stream: await navigator.mediaDevices.getUserMedia({ audio }), cameraError: null };
  const video: MediaTrackConstraints = { width: 640, height: 360, ...(p.cam ? { deviceId: { exact: p.cam } } : {}) };
  try {
    return { stream: await navigator.mediaDevices.getUserMedia({ audio, video }), cameraError: null };
  } catch (err) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio });
    return { stream, cameraError: mediaErrorText(err).replace('microphone', 'camera') };
  }
}

/** The devices of each kind, labelled (labels appear once permission was given). */
export async function listDevices(): Promise<Record<'audioinput' | 'videoinput' | 'audiooutput', MediaDeviceInfo[]>> {
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    audioinput: all.filter((d) => d.kind === 'audioinput'),
    videoinput: all.filter((d) => d.kind === 'videoinput'),
    audiooutput: all.filter((d) => d.kind === 'audiooutput'),
  };
}

let shared: AudioContext | undefined;
/**
 * One AudioContext for every meter on the page. A browser may start it suspended until the
 * visitor interacts with the page; the first click or key press resumes it.
 */
export function audioContext(): AudioContext {
  if (!shared) {
    const ctx = new AudioContext();
    shared = ctx;
    const wake = () => void ctx.resume().catch(() => undefined);
    for (const type of ['pointerdown', 'keydown'] as const) document.addEventListener(type, wake, { once: true });
  }
  if (shared.state === 'suspended') void shared.resume().catch(() => undefined);
  return shared;
}

/** Reads the loudness of an audio track, 0..1 (RMS, scaled so speech fills the meter). */
export class LevelMeter {
  readonly #source: MediaStreamAudioSourceNode;
  readonly #analyser: AnalyserNode;
  readonly #buf: Float32Array<ArrayBuffer>;

  constructor(track: MediaStreamTrack) {
    const ctx = audioContext();
    this.#source = ctx.createMediaStreamSource(new MediaStream([track]));
    this.#analyser = ctx.createAnalyser();
    this.#analyser.fftSize = 1024;
    this.#buf = new Float32Array(this.#analyser.fftSize);
    this.#source.connect(this.#analyser);
  }

  /** The current level, 0..1. */
  level(): number {
    this.#analyser.getFloatTimeDomainData(this.#buf);
    let sum = 0;
    for (const v of this.#buf) sum += v * v;
    const rms = Math.sqrt(sum / this.#buf.length);
    return Math.min(1, rms * 4);
  }

  /** Disconnects from the audio graph. */
  close(): void {
    this.#source.disconnect();
    this.#analyser.disconnect();
  }
}
