/**
 * A private-mode recording on the session page: the passphrase form, then each track to
 * play and download and the transcript, all decrypted in this page. Says what private mode
 * gives up.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Banner, Field } from '../ui/components.tsx';
import { messageOf } from '../ui/api.ts';
import { transcriptJson, transcriptTxt } from './transcriptFile.ts';
import { tarBlob, type TarFile } from './tar.ts';
import { decryptTrack, decryptTranscript, unlockSession, type PrivateSegment, type UnlockedSession } from './reader.ts';

interface Opened {
  u: UnlockedSession;
  files: { id: string; label: string; kind: string; url: string; filename: string }[];
  transcript: PrivateSegment[] | null;
  /** Transcript downloads made in the page. */
  transcriptFiles: { label: string; url: string; filename: string }[];
  /** Everything as one .tar, assembled in the page. */
  archive: { url: string; filename: string };
}

/** What private mode gives up, in the product's words (the API's `gives_up` says the same). */
export function PrivateTradeoffs(): JSX.Element {
  return (
    <details id="private-tradeoffs">
      <summary>What private mode gives up</summary>
      <ul>
        <li>Transcription after the session ends: a re-run needs a key holder to unlock the recording here.</li>
        <li>Server-side export: the organisation export leaves private recordings out. Download them here.</li>
        <li>Search over recordings and transcripts, and public links.</li>
        <li>Recovery: if every key holder loses their passphrase, these recordings can never be opened again.</li>
      </ul>
    </details>
  );
}

/** The private recording's panel. */
export function PrivateSession(props: { orgId: string; sessionId: string }): JSX.Element {
  const [passphrase, setPassphrase] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [opened, setOpened] = useState<Opened | null>(null);
  useEffect(
    () => () =>
      [...(opened?.files ?? []), ...(opened?.transcriptFiles ?? [])].forEach((f) => URL.revokeObjectURL(f.url)),
    [opened],
  );

  const unlock = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setBusy('Unlocking…');
    try {
      const u = await unlockSession(props.orgId, props.sessionId, passphrase);
      setPassphrase('');
      const files: Opened['files'] = [];
      const entries: TarFile[] = [];
      const now = new Date();
      for (const t of u.sealed.tracks) {
        if (!t.chunks.length) continue;
        setBusy(`Decrypting ${t.participant}'s ${t.kind}…`);
        const f = await decryptTrack(u, t);
        files.push({
          id: t.id,
          label: `${t.participant} (take ${t.take}, ${t.kind})`,
          kind: t.kind,
          url: URL.createObjectURL(f.blob),
          filename: f.filename,
        });
        entries.push({ name: `session-${props.sessionId.slice(0, 8)}/${f.filename}`, blob: f.blob, mtime: now });
      }
      setBusy('Decrypting the transcript…');
      const doc = await decryptTranscript(u);
      const short = props.sessionId.slice(0, 8);
      const transcriptFiles = doc
        ? [
            {
              label: 'Transcript (text)',
              url: URL.createObjectURL(transcriptTxt(doc.segments)),
              filename: `transcript-${short}.txt`,
            },
            {
              label: 'Transcript (JSON)',
              url: URL.createObjectURL(transcriptJson(doc.doc)),
              filename: `transcript-${short}.json`,
            },
          ]
        : [];
      if (doc) {
        entries.push({ name: `session-${short}/transcript.txt`, blob: transcriptTxt(doc.segments), mtime: now });
        entries.push({ name: `session-${short}/transcript.json`, blob: transcriptJson(doc.doc), mtime: now });
      }
      const archive = { url: URL.createObjectURL(tarBlob(entries)), filename: `session-${short}.tar` };
      setOpened({ u, files, transcript: doc?.segments ?? null, transcriptFiles, archive });
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(null);
    }
  };

  return (
    <section id="private-session" aria-labelledby="private-heading">
      <h2 id="private-heading">Private recording</h2>
      <p>
        This recording is sealed to your organisation's private-mode key. The server cannot open it: enter your
        passphrase to decrypt it in this browser. Nothing decrypted is sent anywhere.
      </p>
      <PrivateTradeoffs />
      {opened ? null : (
        <form onSubmit={(e) => void unlock(e)} class="row">
          <Field label="Private-mode passphrase">
            <input
              type="password"
              autocomplete="current-password"
              value={passphrase}
              onInput={(e) => setPassphrase(e.currentTarget.value)}
              required
            />
          </Field>
          <button type="submit" disabled={busy !== null}>
            Unlock recording
          </button>
        </form>
      )}
      {busy ? (
        <p role="status" id="private-progress">
          {busy}
        </p>
      ) : null}
      {error ? (
        <Banner kind="error" id="private-error">
          {error}
        </Banner>
      ) : null}
      {opened ? (
        <>
          <p>
            <a href={opened.archive.url} download={opened.archive.filename} id="private-archive">
              Download everything (.tar)
            </a>
          </p>
          <h3>Tracks</h3>
          <ul class="private-tracks">
            {opened.files.map((f) => (
              <li key={f.id}>
                {f.kind === 'audio' ? (
                  <audio controls preload="metadata" src={f.url} aria-label={`Play ${f.label}`} data-track={f.id} />
                ) : (
                  <video controls preload="metadata" src={f.url} aria-label={`Play ${f.label}`} data-track={f.id} />
                )}
                <a href={f.url} download={f.filename} data-track={f.id}>
                  Download {f.label}
                </a>
              </li>
            ))}
          </ul>
          <h3>Transcript</h3>
          {opened.transcriptFiles.length ? (
            <p class="row">
              {opened.transcriptFiles.map((f) => (
                <a key={f.filename} href={f.url} download={f.filename}>
                  Download {f.label}
                </a>
              ))}
            </p>
          ) : null}
          {opened.transcript ? (
            <ol id="private-transcript">
              {opened.transcript.map((s, i) => (
                <li key={i}>
                  <strong>{s.speaker}</strong> <span>{s.text}</span>
                </li>
              ))}
            </ol>
          ) : (
            <p>This session has no transcript.</p>
          )}
        </>
      ) : null}
    </section>
  );
}
