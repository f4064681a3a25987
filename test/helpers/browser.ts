/**
 * Real Chromium for the page and studio tests: Debian's `chromium`, driven by playwright-core,
 * started quietly (no sandbox in containers, no GPU, no background traffic). The studio tests
 * give it fake media devices, its microphone fed from a speech WAV.
 */
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium). */
export const CHROMIUM = '/usr/bin/chromium';

const QUIET = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** What the browser's media devices are. Default: none faked. */
export interface LaunchOptions {
  /** Fake camera and microphone, the microphone playing this WAV, and no permission prompt. */
  readonly fakeAudioWav?: string;
}

/** Starts Chromium. @throws when it cannot start (e.g. not installed). */
export function launchChromium(opts: LaunchOptions = {}): Promise<Browser> {
  const media = opts.fakeAudioWav
    ? [
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        `--use-file-for-fake-audio-capture=${opts.fakeAudioWav}`,
        '--allow-loopback-in-peer-connection',
        '--autoplay-policy=no-user-gesture-required',
      ]
    : [];
  return chromium.launch({ executablePath: CHROMIUM, args: [...QUIET, ...media] });
}
