/**
 * Private mode on the settings page (owners and admins): turn it on with a passphrase (the
 * key pair is made and wrapped in this browser), the key holders, changing one's own
 * passphrase, removing a holder (owners). The passphrase never leaves the page.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../ui/api.ts';
import { Async, Card, Field, StatusBanner, useAct, useLoad } from '../ui/components.tsx';
import { when } from '../ui/format.ts';
import type { OrgContext } from '../ui/org.tsx';
import {
  fromB64,
  generateOrgKeyPair,
  grantOrgKey,
  keyFingerprint,
  openOrgKeyGrant,
  PBKDF2_ITERATIONS,
  toB64,
  unwrapOrgPrivateKey,
  wrapOrgPrivateKey,
  type PrivateSessionKey,
  type WrappedOrgKey,
} from '../../lib/private/crypto.ts';
import { PrivateTradeoffs } from './PrivateSession.tsx';

/** GET /api/orgs/:orgId/private-mode */
interface PrivateMode {
  enabled: boolean;
  enabled_at: string | null;
  holders: { user_id: string; email: string; display_name: string | null; created_at: string }[];
  my_wrapped_key: WrappedOrgKey | null;
  requests: { user_id: string; email: string; public_key: string; created_at: string; granted: boolean }[];
  my_request: { public_key: string; wrapped_request_key: WrappedOrgKey; grant: PrivateSessionKey | null } | null;
}

/** The shortest passphrase accepted (it is the only thing between the key and a guess). */
const MIN_PASSPHRASE = 12;

/** A passphrase input in its labelled field (`current`: one the browser may fill in). */
function PassphraseField(props: {
  label: string;
  value: string;
  onValue: (v: string) => void;
  current?: boolean;
  hint?: string;
}): JSX.Element {
  return (
    <Field label={props.label} {...(props.hint ? { hint: props.hint } : {})}>
      <input
        type="password"
        autocomplete={props.current ? 'current-password' : 'new-password'}
        value={props.value}
        onInput={(e) => props.onValue(e.currentTarget.value)}
      />
    </Field>
  );
}

/** Refuses a passphrase shorter than {@link MIN_PASSPHRASE} (it is the only thing between the key and a guess). */
function checkLength(pass: string): void {
  if (pass.length < MIN_PASSPHRASE) throw new Error(`Use a passphrase of at least ${MIN_PASSPHRASE} characters.`);
}

/** The private-mode card. */
export function PrivateModeCard(props: { c: OrgContext }): JSX.Element {
  const { c } = props;
  const loaded = useLoad(() => api<PrivateMode>('GET', `/api/orgs/${c.org.id}/private-mode`), [c.org.id]);
  return (
    <Card title="Private mode" id="private-mode-card">
      <Async loaded={loaded} what="Loading private mode…">
        {(m) =>
          m.enabled ? (
            <PrivateModeOn c={c} m={m} reload={loaded.reload} />
          ) : (
            <PrivateModeOff c={c} reload={loaded.reload} />
          )
        }
      </Async>
    </Card>
  );
}

function PrivateModeOff(props: { c: OrgContext; reload: () => void }): JSX.Element {
  const { c } = props;
  const [pass, setPass] = useState('');
  const [again, setAgain] = useState('');
  const [understood, setUnderstood] = useState(false);
  const { status, act, busy } = useAct(props.reload);
  const turnOn = (e: Event) => {
    e.preventDefault();
    return act(async () => {
      checkLength(pass);
      if (pass !== again) throw new Error('The two passphrases differ.');
      const pair = await generateOrgKeyPair();
      const wrapped = await wrapOrgPrivateKey(pair.privateKey, pass, c.org.id);
      await api('POST', `/api/orgs/${c.org.id}/private-mode`, {
        public_key: toB64(pair.publicKey),
        wrapped_private_key: wrapped,
      });
    });
  };
  return (
    <>
      <p>
        With private mode on, each recording is sealed to a key only your organisation's key holders can open, once the
        session has ended and its transcript is made (within seconds when there is none to make). From then on this
        service cannot decrypt it: playback, downloads and the transcript are decrypted in the key holder's browser with
        their passphrase.
      </p>
      <PrivateTradeoffs />
      {c.owner ? (
        <form id="private-mode-on" onSubmit={(e) => void turnOn(e)}>
          <PassphraseField
            label="Passphrase"
            hint={`At least ${MIN_PASSPHRASE} characters. It never leaves this browser.`}
            value={pass}
            onValue={setPass}
          />
          <PassphraseField label="Passphrase again" value={again} onValue={setAgain} />
          <label class="check">
            <input type="checkbox" checked={understood} onChange={(e) => setUnderstood(e.currentTarget.checked)} /> I
            understand that if every key holder loses their passphrase, private recordings can never be opened again.
          </label>
          <button type="submit" disabled={!understood || busy}>
            Turn on private mode
          </button>
        </form>
      ) : (
        <p>Only an owner can turn on private mode.</p>
      )}
      <StatusBanner status={status} />
    </>
  );
}

function PrivateModeOn(props: { c: OrgContext; m: PrivateMode; reload: () => void }): JSX.Element {
  const { c, m } = props;
  // Removing a holder reloads the card; a changed passphrase only says so.
  const { status, act, busy } = useAct();
  const remove = async (userId: string, email: string) => {
    if (!window.confirm(`Remove ${email}'s copy of the private-mode key?`)) return;
    await act(async () => {
      await api('DELETE', `/api/orgs/${c.org.id}/private-mode/holders/${userId}`);
      props.reload();
    });
  };
  return (
    <>
      <p id="private-mode-state">
        Private mode is on since {when(m.enabled_at ?? '')}. Ended sessions are sealed to the organisation key once
        their transcript is made, or within seconds when there is none to make.
      </p>
      <PrivateTradeoffs />
      <h3>Key holders</h3>
      <ul id="private-holders">
        {m.holders.map((h) => (
          <li key={h.user_id}>
            {h.display_name ? `${h.display_name} (${h.email})` : h.email}, since {when(h.created_at)}{' '}
            {c.owner || h.user_id === c.user.id ? (
              <button type="button" class="link" onClick={() => void remove(h.user_id, h.email)}>
                Remove {h.email}
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      {m.my_wrapped_key ? (
        <>
          {m.requests
            .filter((r) => !r.granted && r.user_id !== c.user.id)
            .map((r) => (
              <GrantRequest key={r.user_id} c={c} mine={m.my_wrapped_key} r={r} onDone={props.reload} />
            ))}
          <ChangePassphrase orgId={c.org.id} mine={m.my_wrapped_key} act={act} busy={busy} />
        </>
      ) : (
        <BecomeHolder c={c} m={m} reload={props.reload} />
      )}
      <StatusBanner status={status} />
    </>
  );
}

/** Changes one's own passphrase; reports through the card's `act` (its banner). */
function ChangePassphrase(props: {
  orgId: string;
  mine: WrappedOrgKey;
  act: ReturnType<typeof useAct>['act'];
  busy: boolean;
}): JSX.Element {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const change = (e: Event) => {
    e.preventDefault();
    return props.act(async () => {
      checkLength(next);
      const key = await unwrapOrgPrivateKey(props.mine, current, props.orgId).catch(() => {
        throw new Error('Your current passphrase is not right; nothing was changed.');
      });
      const wrapped = await wrapOrgPrivateKey(key, next, props.orgId);
      await api('PUT', `/api/orgs/${props.orgId}/private-mode/holders/me`, { wrapped_private_key: wrapped });
      setCurrent('');
      setNext('');
    }, 'Passphrase changed.');
  };
  return (
    <>
      <h3>Change your passphrase</h3>
      <form id="private-passphrase" onSubmit={(e) => void change(e)}>
        <PassphraseField label="Current passphrase" current value={current} onValue={setCurrent} />
        <PassphraseField label="New passphrase" value={next} onValue={setNext} />
        <button type="submit" disabled={props.busy}>
          Change passphrase
        </button>
      </form>
    </>
  );
}

/** A public key's fingerprint, computed in the page. */
function Fingerprint(props: { publicKey: string }): JSX.Element {
  const [print, setPrint] = useState('');
  useEffect(() => {
    void keyFingerprint(fromB64(props.publicKey)).then(setPrint);
  }, [props.publicKey]);
  return <code class="fingerprint">{print}</code>;
}

/** A key holder approves someone's request: the org key sealed to their public key, in this page. */
function GrantRequest(props: {
  c: OrgContext;
  mine: WrappedOrgKey | null;
  r: PrivateMode['requests'][number];
  onDone: () => void;
}): JSX.Element {
  const { c, r } = props;
  const [pass, setPass] = useState('');
  const { status, act } = useAct(props.onDone);
  const grant = (e: Event) => {
    e.preventDefault();
    const mine = props.mine;
    if (!mine) return;
    return act(async () => {
      const key = await unwrapOrgPrivateKey(mine, pass, c.org.id).catch(() => {
        throw new Error('Your passphrase is not right; nothing was granted.');
      });
      const sealed = await grantOrgKey(key, fromB64(r.public_key), c.org.id, r.user_id);
      await api('PUT', `/api/orgs/${c.org.id}/private-mode/requests/${r.user_id}/grant`, {
        public_key: r.public_key,
        grant: sealed,
      });
    });
  };
  return (
    <div class="private-request">
      <h3>{r.email} asks to hold the key</h3>
      <p>
        Before you approve, ask {r.email} to read you their key fingerprint; it must be{' '}
        <Fingerprint publicKey={r.public_key} />.
      </p>
      <form onSubmit={(e) => void grant(e)}>
        <PassphraseField label={`Your passphrase, to approve ${r.email}`} current value={pass} onValue={setPass} />
        <button type="submit">Approve {r.email}</button>
      </form>
      <StatusBanner status={status} />
    </div>
  );
}

/** An owner or admin without a copy: ask for one, wait, then finish with the same passphrase. */
function BecomeHolder(props: { c: OrgContext; m: PrivateMode; reload: () => void }): JSX.Element {
  const { c, m } = props;
  const [pass, setPass] = useState('');
  const { status, act, busy } = useAct(props.reload);
  const run = (fn: () => Promise<void>) =>
    act(async () => {
      await fn();
      setPass('');
    });
  const ask = () =>
    run(async () => {
      checkLength(pass);
      const personal = await generateOrgKeyPair();
      await api('POST', `/api/orgs/${c.org.id}/private-mode/requests`, {
        public_key: toB64(personal.publicKey),
        wrapped_request_key: await wrapOrgPrivateKey(
          personal.privateKey,
          pass,
          c.org.id,
          PBKDF2_ITERATIONS,
          'holder-request-key',
        ),
      });
    });
  const finish = (req: NonNullable<PrivateMode['my_request']>, grant: PrivateSessionKey) =>
    run(async () => {
      const personal = await unwrapOrgPrivateKey(req.wrapped_request_key, pass, c.org.id, 'holder-request-key').catch(
        () => {
          throw new Error('That is not the passphrase you asked with; nothing was changed.');
        },
      );
      const orgKey = await openOrgKeyGrant(grant, personal, c.org.id, c.user.id);
      await api('PUT', `/api/orgs/${c.org.id}/private-mode/holders/me`, {
        wrapped_private_key: await wrapOrgPrivateKey(orgKey, pass, c.org.id),
      });
    });
  const req = m.my_request;
  const passField = (label: string) => <PassphraseField label={label} value={pass} onValue={setPass} />;
  return (
    <div id="private-become-holder">
      {!req ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void ask();
          }}
        >
          <p>
            You hold no copy of the key. Ask for one: choose your passphrase, then a key holder approves your request.
          </p>
          {passField('Your new private-mode passphrase')}
          <button type="submit" disabled={busy}>
            Ask to hold the key
          </button>
        </form>
      ) : req.grant ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (req.grant) void finish(req, req.grant);
          }}
        >
          <p>A key holder approved your request. Enter the passphrase you chose to finish.</p>
          {passField('Your private-mode passphrase')}
          <button type="submit" disabled={busy}>
            Finish
          </button>
        </form>
      ) : (
        <p id="private-request-waiting">
          Your request waits for a key holder. Read them your key fingerprint:{' '}
          <Fingerprint publicKey={req.public_key} />
        </p>
      )}
      <StatusBanner status={status} />
    </div>
  );
}
