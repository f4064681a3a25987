/**
 * The green room: camera preview, a live microphone level, device pickers (remembered for
 * next time), a speaker test, the display name, and consent, before anyone is recorded.
 * Problems are said before Join: no permission, no device, a busy device, no media server.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { Banner, Field } from '../ui/components.tsx';
import { CAMERA_OFF, listDevices, loadPrefs, mediaErrorText, openMedia, savePrefs, type DevicePrefs } from './media.ts';
import { MicMeter, VideoView } from './widgets.tsx';
import type { StudioContext } from './context.ts';

/** What Join hands to the room. */
export interface JoinRequest {
  stream: MediaStream;
  name: string;
  speaker: string;
}

/** The green room. `busy` and `error` come from the join attempt the page runs. */
export function GreenRoom(props: {
  ctx: StudioContext;
  busy: boolean;
  error: string | null;
  onJoin: (r: JoinRequest) => void;
}): JSX.Element {
  const { ctx } = props;
  const [prefs, setPrefs] = useState<DevicePrefs>(loadPrefs);
  const [stream, setStream] = useState<MediaStream | null>(null);
  const [mediaError, setMediaError] = useState<string | null>(null);
  const [cameraError, setCameraError] = useState<string | null>(null);
  const [devices, setDevices] = useState<Awaited<ReturnType<typeof listDevices>> | null>(null);
  const [name, setName] = useState(ctx.defaultName);
  const [consent, setConsent] = useState(false);
  const streamRef = useRef<MediaStream | null>(null);
  const handedOver = useRef(false);

  useEffect(() => {
    let live = true;
    setMediaError(null);
    openMedia(prefs).then(
      async (m) => {
        if (!live) {
          m.stream.getTracks().forEach((t) => t.stop());
          return;
        }
        streamRef.current?.getTracks().forEach((t) => t.stop());
        streamRef.current = m.stream;
        setStream(m.stream);
        setCameraError(m.cameraError);
        setDevices(await listDevices());
      },
      (err: unknown) => live && setMediaError(mediaErrorText(err)),
    );
    return () => {
      live = false;
    };
  }, [prefs.mic, prefs.cam]);
  // Leaving the page without joining releases the devices.
  useEffect(
    () => () => {
      if (!handedOver.current) streamRef.current?.getTracks().forEach((t) => t.stop());
    },
    [],
  );

  const pick = (patch: Partial<DevicePrefs>) => {
    const next = { ...prefs, ...patch };
    savePrefs(next);
    setPrefs(next);
  };
  const nameMissing = name.trim() === '';
  const canJoin = !!stream && consent && !nameMissing && ctx.liveAvailable && !props.busy;
  const why = !ctx.liveAvailable
    ? null
    : !stream
      ? 'Waiting for your microphone.'
      : nameMissing
        ? 'Enter your name to join.'
        : !consent
          ? 'Tick the consent box to join.'
          : null;

  return (
    <section id="setup" class="greenroom" aria-labelledby="greenroom-title">
      <div>
        <VideoView stream={stream} muted mirrored label="Your camera preview" id="preview" />
        {cameraError ? <Banner kind="warn">{cameraError}</Banner> : null}
        <div class="card stack">
          <div>
            <span class="small">Microphone level</span>
            {stream ? <MicMeter stream={stream} /> : <div class="meter" />}
          </div>
          <div class="row">
            <Field label="Microphone">
              <select id="mic" value={prefs.mic} onChange={(e) => pick({ mic: e.currentTarget.value })}>
                <option value="">Default microphone</option>
                {devices?.audioinput
                  .filter((d) => d.deviceId && d.deviceId !== 'default')
                  .map((d, i) => (
                    <option key={d.deviceId} value={d.deviceId}>
                      {d.label || `Microphone ${i + 1}`}
                    </option>
                  ))}
              </select>
            </Field>
            <Field label="Camera">
              <select id="cam" value={prefs.cam} onChange={(e) => pick({ cam: e.currentTarget.value })}>
                <option value="">Default camera</option>
                <option value={CAMERA_OFF}>No camera</option>
                {devices?.videoinput
                  .filter((d) => d.deviceId)
                  .map((d, i) => (
                    <option key={d.deviceId} value={d.deviceId}>
                      {d.label || `Camera ${i + 1}`}
                    </option>
                  ))}
              </select>
            </Field>
          </div>
          <SpeakerTest
            speakers={devices?.audiooutput ?? []}
            speaker={prefs.speaker}
            onPick={(speaker) => pick({ speaker })}
          />
        </div>
      </div>
      <div class="card stack">
        <h1 id="greenroom-title">{ctx.title}</h1>
        {mediaError ? <Banner>{mediaError}</Banner> : null}
        {!ctx.liveAvailable ? (
          <Banner id="live-unavailable">
            {ctx.liveUnavailableReason ?? 'Live sessions are unavailable: the media server is not running.'} You cannot
            join until it is back.
          </Banner>
        ) : null}
        <Field label="Your name">
          <input
            id="display-name"
            maxLength={80}
            autocomplete="name"
            required
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </Field>
        <div class="banner info" id="consent-notice">
          <p class="small">
            <strong>Recorded by {ctx.organizationName ?? 'the organisation hosting this session'}</strong> · audio and
            video stored encrypted
          </p>
          <label class="check">
            <input
              type="checkbox"
              id="consent"
              checked={consent}
              onChange={(e) => setConsent(e.currentTarget.checked)}
            />
            <span>{ctx.consent.text}</span>
          </label>
        </div>
        {props.error ? <Banner id="join-error">{props.error}</Banner> : null}
        <p class="row">
          <button
            id="join"
            disabled={!canJoin}
            aria-describedby={why ? 'join-why' : undefined}
            onClick={() => {
              if (!stream) return;
              handedOver.current = true;
              props.onJoin({ stream, name: name.trim(), speaker: prefs.speaker });
            }}
          >
            {props.busy ? 'Joining…' : 'Join'}
          </button>
          {why ? (
            <span id="join-why" class="muted small">
              {why}
            </span>
          ) : null}
        </p>
      </div>
    </section>
  );
}

/** A 440 Hz beep as a WAV file, so the test plays through the chosen output device. */
function beepUrl(): string {
  const rate = 48000;
  const n = rate * 0.6;
  const buf = new ArrayBuffer(44 + n * 2);
  const v = new DataView(buf);
  const str = (o: number, s: string) => [...s].forEach((c, i) => v.setUint8(o + i, c.charCodeAt(0)));
  str(0, 'RIFF');
  v.setUint32(4, 36 + n * 2, true);
  str(8, 'WAVEfmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  str(36, 'data');
  v.setUint32(40, n * 2, true);
  for (let i = 0; i < n; i++) {
    const fade = Math.min(1, i / 2000, (n - i) / 2000);
    v.setInt16(44 + i * 2, Math.sin((2 * Math.PI * 440 * i) / rate) * 8000 * fade, true);
  }
  return URL.createObjectURL(new Blob([buf], { type: 'audio/wav' }));
}

/** Picks the speaker (where the browser allows it) and plays a short test sound through it. */
function SpeakerTest(props: {
  speakers: MediaDeviceInfo[];
  speaker: string;
  onPick: (id: string) => void;
}): JSX.Element {
  const [playing, setPlaying] = useState(false);
  const play = async () => {
    const el = new Audio(beepUrl());
    if (props.speaker && 'setSinkId' in el) await el.setSinkId(props.speaker).catch(() => undefined);
    setPlaying(true);
    el.onended = () => setPlaying(false);
    await el.play().catch(() => setPlaying(false));
  };
  return (
    <div class="row">
      {props.speakers.length > 1 ? (
        <Field label="Speaker">
          <select id="speaker" value={props.speaker} onChange={(e) => props.onPick(e.currentTarget.value)}>
            {props.speakers.map((d, i) => (
              <option key={d.deviceId} value={d.deviceId === 'default' ? '' : d.deviceId}>
                {d.label || `Speaker ${i + 1}`}
              </option>
            ))}
          </select>
        </Field>
      ) : null}
      <button class="secondary" id="speaker-test" onClick={() => void play()} disabled={playing}>
        {playing ? 'Playing…' : 'Test speaker'}
      </button>
    </div>
  );
}
