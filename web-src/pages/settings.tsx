/**
 * An organisation's settings (owners and admins): its name, how long recordings are kept
 * (with units, and what the next sweep will erase), automatic transcription and its
 * language, private mode (web-src/private/), and the danger zone (deleting the organisation, owners only).
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../ui/api.ts';
import { Async, Banner, Card, Empty, Field, StatusBanner, useAct, useLoad } from '../ui/components.tsx';
import { day, plural, when } from '../ui/format.ts';
import { OrgFrame, type OrgContext } from '../ui/org.tsx';
import { LANGUAGES, languageName } from '../ui/languages.ts';
import { PrivateModeCard } from '../private/PrivateModeCard.tsx';

/** The settings page. */
export function SettingsPage(props: { orgId: string }): JSX.Element {
  return (
    <OrgFrame orgId={props.orgId} tab="settings">
      {(c) =>
        c.admin ? (
          <>
            {/* Pending deletion: read-only (a disabled fieldset disables every control in it). */}
            <fieldset disabled={c.deletion.scheduled} class="plain">
              <legend class="visually-hidden">Settings</legend>
              <NameCard c={c} />
              <RetentionCard c={c} />
              <TranscriptionCard c={c} />
              <PrivateModeCard c={c} />
            </fieldset>
            {c.owner ? <DangerZone c={c} /> : null}
          </>
        ) : (
          <Banner kind="info">Only owners and admins can change the organization's settings.</Banner>
        )
      }
    </OrgFrame>
  );
}

function NameCard(props: { c: OrgContext }): JSX.Element {
  const { c } = props;
  const [name, setName] = useState(c.org.name);
  const { status, act: save } = useAct();
  return (
    <Card title="Name" id="org-name-card">
      <form
        id="rename-org"
        onSubmit={(e) => {
          e.preventDefault();
          void save(async () => {
            await api('PATCH', `/api/orgs/${c.org.id}`, { name });
            c.reload();
          }, 'Name saved.');
        }}
      >
        <Field label="Organization name">
          <input id="org-name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <button type="submit">Save name</button>
      </form>
      <StatusBanner status={status} />
    </Card>
  );
}

interface Retention {
  retention_days: number | null;
  next_sweep_at: string;
  due_at_next_sweep: { id: string; title: string; created_at: string; erase_after: string }[];
}

const UNITS = [
  { unit: 'years', days: 365 },
  { unit: 'months', days: 30 },
  { unit: 'weeks', days: 7 },
  { unit: 'days', days: 1 },
] as const;
type Unit = (typeof UNITS)[number]['unit'];

/** Days as the largest unit that divides them: 90 → 3 months, 14 → 2 weeks. */
function toUnit(days: number): { amount: number; unit: Unit } {
  const u = UNITS.find((x) => days % x.days === 0) ?? UNITS[3];
  return { amount: days / u.days, unit: u.unit };
}

function RetentionCard(props: { c: OrgContext }): JSX.Element {
  const orgId = props.c.org.id;
  const loaded = useLoad(() => api<Retention>('GET', `/api/orgs/${orgId}/retention`), [orgId]);
  return (
    <Card title="Retention" id="retention-card">
      <Async loaded={loaded} what="Loading the retention…">
        {(r) => <RetentionForm orgId={orgId} r={r} saved={loaded.reload} />}
      </Async>
    </Card>
  );
}

function RetentionForm(props: { orgId: string; r: Retention; saved: () => void }): JSX.Element {
  const { orgId, r } = props;
  const initial = r.retention_days === null ? null : toUnit(r.retention_days);
  const [keep, setKeep] = useState<'forever' | 'limited'>(initial ? 'limited' : 'forever');
  const [amount, setAmount] = useState(String(initial?.amount ?? 90));
  const [unit, setUnit] = useState<Unit>(initial?.unit ?? 'days');
  const { status, act: save } = useAct();
  const factor = UNITS.find((u) => u.unit === unit)?.days ?? 1;
  const days = keep === 'forever' ? null : Math.round(Number(amount) * factor);
  const valid = days === null || (Number.isFinite(days) && days >= 1 && days <= 36500);
  const preview = usePreview(orgId, valid ? days : undefined, r);
  return (
    <>
      <p class="muted">
        Recordings older than this are erased for good (their keys are destroyed) by the sweep, which runs next{' '}
        {when(r.next_sweep_at)}.
      </p>
      <form
        id="retention"
        class="vertical"
        onSubmit={(e) => {
          e.preventDefault();
          void save(
            async () => {
              await api('PUT', `/api/orgs/${orgId}/retention`, { retention_days: days });
              props.saved();
            },
            days === null ? 'Recordings are kept until deleted.' : `Recordings are kept for ${plural(days, 'day')}.`,
          );
        }}
      >
        <fieldset>
          <legend class="visually-hidden">How long to keep recordings</legend>
          <label class="check">
            <input
              type="radio"
              name="keep"
              id="keep-forever"
              checked={keep === 'forever'}
              onChange={() => setKeep('forever')}
            />
            Keep recordings until someone deletes them
          </label>
          <div class="row">
            <label class="check">
              <input
                type="radio"
                name="keep"
                id="keep-limited"
                checked={keep === 'limited'}
                onChange={() => setKeep('limited')}
              />
              Erase recordings automatically after
            </label>
            <div class="input-unit">
              <input
                id="retention-amount"
                type="number"
                min={1}
                max={36500}
                aria-label="Keep recordings for (amount)"
                disabled={keep === 'forever'}
                value={amount}
                onInput={(e) => setAmount(e.currentTarget.value)}
              />
              <select
                id="retention-unit"
                aria-label="Unit"
                disabled={keep === 'forever'}
                value={unit}
                onChange={(e) => setUnit(e.currentTarget.value as Unit)}
              >
                {UNITS.slice()
                  .reverse()
                  .map((u) => (
                    <option key={u.unit} value={u.unit}>
                      {u.unit}
                    </option>
                  ))}
              </select>
            </div>
          </div>
        </fieldset>
        <button type="submit" disabled={!valid}>
          Save retention
        </button>
      </form>
      {!valid ? <p class="error">Choose between 1 day and 100 years.</p> : null}
      <StatusBanner status={status} />
      <h3>What the next sweep erases</h3>
      <div id="retention-preview" aria-live="polite">
        {preview === undefined ? (
          <p class="loading">Working out what would be erased…</p>
        ) : preview === null ? (
          <p class="error">Could not work out what would be erased. Try again.</p>
        ) : preview.length ? (
          <>
            <p>
              {days === r.retention_days ? 'With this setting, ' : 'If you save this, '}the next sweep erases{' '}
              {plural(preview.length, 'recording')}:
            </p>
            <ul class="plain">
              {preview.slice(0, 20).map((s) => (
                <li key={s.id}>
                  {s.title} <span class="muted small">recorded {day(s.created_at)}</span>
                </li>
              ))}
            </ul>
            {preview.length > 20 ? <p class="muted">…and {preview.length - 20} more.</p> : null}
          </>
        ) : (
          <Empty>Nothing would be erased at the next sweep.</Empty>
        )}
      </div>
    </>
  );
}

type Due = Retention['due_at_next_sweep'];

/**
 * What the next sweep erases with `days` (null: keep forever): the saved answer when it is
 * the saved setting, else the API's preview for the unsaved value (debounced).
 */
function usePreview(orgId: string, days: number | null | undefined, r: Retention): Due | null | undefined {
  const [preview, setPreview] = useState<{ days: number | null; due: Due | null } | null>(null);
  useEffect(() => {
    if (days === undefined || days === null || days === r.retention_days) return;
    let live = true;
    const t = setTimeout(() => {
      api<{ sessions: { id: string; title: string; created_at: string; erase_at: string }[] }>(
        'GET',
        `/api/orgs/${orgId}/retention/preview?days=${days}`,
      ).then(
        (p) => live && setPreview({ days, due: p.sessions.map((x) => ({ ...x, erase_after: x.erase_at })) }),
        () => live && setPreview({ days, due: null }),
      );
    }, 300);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [orgId, days, r.retention_days]);
  if (days === undefined) return [];
  if (days === null) return [];
  if (days === r.retention_days) return r.due_at_next_sweep;
  return preview?.days === days ? preview.due : undefined;
}

interface Transcription {
  auto: boolean;
  language: string;
}

function TranscriptionCard(props: { c: OrgContext }): JSX.Element {
  const orgId = props.c.org.id;
  const loaded = useLoad(() => api<Transcription>('GET', `/api/orgs/${orgId}/settings/transcription`), [orgId]);
  return (
    <Card title="Transcription" id="transcription-card">
      <Async loaded={loaded} what="Loading the transcription settings…">
        {(t) => <TranscriptionForm orgId={orgId} t={t} />}
      </Async>
    </Card>
  );
}

function TranscriptionForm(props: { orgId: string; t: Transcription }): JSX.Element {
  const [auto, setAuto] = useState(props.t.auto);
  const [language, setLanguage] = useState(props.t.language);
  const { status, act: save } = useAct();
  return (
    <form
      id="transcription"
      class="vertical"
      onSubmit={(e) => {
        e.preventDefault();
        void save(
          () => api('PATCH', `/api/orgs/${props.orgId}/settings/transcription`, { auto, language }),
          auto
            ? `Sessions will be transcribed automatically (${languageName(language)}).`
            : 'Sessions will be transcribed only when someone asks.',
        );
      }}
    >
      <label class="check">
        <input
          type="checkbox"
          id="transcription-auto"
          checked={auto}
          onChange={(e) => setAuto(e.currentTarget.checked)}
        />
        Transcribe every session automatically when it ends
      </label>
      <Field label="Spoken language" hint="Automatic detection works for most recordings in one language.">
        <select id="transcription-language" value={language} onChange={(e) => setLanguage(e.currentTarget.value)}>
          <option value="auto">Detect automatically</option>
          {LANGUAGES.map((l) => (
            <option key={l} value={l}>
              {languageName(l)}
            </option>
          ))}
        </select>
      </Field>
      <div>
        <button type="submit">Save transcription settings</button>
      </div>
      <StatusBanner status={status} />
    </form>
  );
}

function DangerZone(props: { c: OrgContext }): JSX.Element {
  const { org, deletion } = props.c;
  const [confirmName, setConfirmName] = useState('');
  const { status, act: save } = useAct();
  return (
    <Card title="Danger zone" id="danger-zone" class="danger-zone">
      <h3>Delete the organization</h3>
      {deletion.scheduled ? (
        <p>Deletion is scheduled for {day(deletion.due_at ?? '')}. Cancel it from the banner at the top of the page.</p>
      ) : (
        <>
          <p>
            Seven days after you confirm, every recording, transcript and export of {org.name} is erased for good and
            all members lose access. Until then the organization is read-only and any owner can cancel. Export first if
            you want to keep a copy.
          </p>
          <form
            id="delete-org"
            onSubmit={(e) => {
              e.preventDefault();
              void save(async () => {
                await api('POST', `/api/orgs/${org.id}/deletion`, { confirm_name: confirmName });
                location.reload();
              }, 'Deletion scheduled.');
            }}
          >
            <Field label={`Type “${org.name}” to confirm`}>
              <input
                id="delete-org-name"
                autocomplete="off"
                value={confirmName}
                onInput={(e) => setConfirmName(e.currentTarget.value)}
              />
            </Field>
            <button type="submit" class="danger solid" disabled={confirmName !== org.name}>
              Delete in 7 days
            </button>
          </form>
        </>
      )}
      <StatusBanner status={status} />
    </Card>
  );
}
