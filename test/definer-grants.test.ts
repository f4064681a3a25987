// The security-definer functions the request path's login may execute are exactly a
// reviewed list: a new one executable by the API role fails here until it is reviewed
// (it must act only for the proven user in the proven org, or for the holder of a secret)
// and added below. Every definer function pins its search_path.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';

/** Reviewed: each acts only within app.begin_request's proof, or needs a secret the caller holds. */
const REVIEWED_FOR_API = [
  'app.accept_invitation(bytea)', // the invitation's token; the proven user's own address
  'app.acting_for_org()', // policy helper: false for the API role
  'app.admin_org_id()', // policy helper: the proven org, for its owners and admins
  'app.api_key_salt(text)', // salt and argon2 parameters of a live key, by its public prefix (no secret)
  'app.auth_session_set_time_zone(text,text)', // the session's raw token: its holder sets its time zone
  'app.begin_request(text,uuid,integer)', // the proof itself: a live session's raw token
  'app.begin_request_key(text,bytea,uuid)', // the proof of a bearer key: its raw argon2id hash
  'app.cancel_org_deletion()', // owner of the proven org
  'app.create_organization(text)', // the proven user becomes owner of a new org
  'app.current_api_key_id()', // policy helper: the proven API key (NULL for a person)
  'app.current_org_id()', // policy helper: the proven org
  'app.current_role_in_org()', // policy helper: the proven user's role in the proven org
  'app.current_seat_limit()', // members of the proven org
  'app.current_user_id()', // policy helper: the proven user
  'app.guest_join(uuid,bytea,text)', // the guest link's token
  'app.guest_join_studio(uuid,bytea,text,text,uuid)', // the guest link's token (rejoin id: API-signed secret)
  'app.guest_session_info(uuid,bytea)', // the guest link's token
  'app.host_record_consent(uuid,text)', // the proven user's own participant in the proven org
  'app.member_org_id()', // policy helper: the proven org, for its members
  'app.my_home_sessions(integer)', // the proven user's own orgs' sessions (dashboard home)
  'app.my_memberships()', // the proven user's own memberships
  'app.my_sole_ownerships()', // the proven user's own ownerships
  'app.org_deletion_due(uuid)', // trigger helper: the proven org only
  'app.org_kms_key(uuid)', // the proven org only
  'app.rate_limit_hit(text,integer)', // counts up only; time from app.now()
  'app.request_account_deletion()', // the proven user's own account; due from app.now()
  'app.schedule_org_deletion()', // owner of the proven org; due from app.now()
  'app.signin_issue_code(text,integer)', // returns the code sealed to the API process only
  'app.signin_restore(text,text,text,text,integer)', // the restore token
  'app.signin_verify(text,text,text,text,text,text,integer,integer,boolean)', // the emailed code
  'app.store_deletion_certificate(uuid,uuid,uuid,text,jsonb,text)', // an erased session of the proven org
  'app.transcription_rerun(uuid)', // members of the proven org
  'app.host_place_session(uuid)', // a session of the proven org, for its members: places it on an SFU node
  'app.guest_place_session(uuid,bytea)', // the guest link's token: places its session on an SFU node
  'app.fleet_live_available()', // one bit: whether any SFU node takes sessions now
].sort();

let db: TestDatabase;
let owner: pg.Client;
before(async () => {
  db = await freshDatabase();
  owner = new pg.Client({ connectionString: db.ownerUrl });
  await owner.connect();
});
after(async () => {
  await owner.end();
  await db.drop();
});

interface DefinerRow {
  fn: string;
  config: string[] | null;
  grantees: string[];
}

async function definers(): Promise<DefinerRow[]> {
  const login = decodeURIComponent(new URL(db.appUrl).username);
  const { rows } = await owner.query<DefinerRow>(
    `select replace(p.oid::regprocedure::text, ' ', '') as fn, p.proconfig as config,
            array(select r.rolname::text from pg_roles r
                   where r.rolname in ($1, 'recorder_sfu', 'recorder_jobs', 'recorder_sweep')
                     and has_function_privilege(r.oid, p.oid, 'execute') order by 1) as grantees
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('app', 'public') and p.prosecdef
      order by 1`,
    [login],
  );
  return rows;
}

test('every security-definer function pins search_path', async () => {
  const rows = await definers();
  assert.ok(rows.length > 40, `found only ${rows.length} definer functions`);
  const loose = rows.filter((r) => !(r.config ?? []).some((c) => c.startsWith('search_path='))).map((r) => r.fn);
  assert.deepEqual(loose, []);
});

test('the API login executes exactly the reviewed definer functions', async () => {
  const login = decodeURIComponent(new URL(db.appUrl).username);
  const rows = await definers();
  const forApi = rows.filter((r) => r.grantees.includes(login)).map((r) => r.fn);
  const unreviewed = forApi.filter((f) => !REVIEWED_FOR_API.includes(f));
  assert.deepEqual(unreviewed, [], `definer functions the API role may run without review: ${unreviewed.join(', ')}`);
  // The list stays honest: nothing on it that the role cannot run any more.
  assert.deepEqual(forApi.sort(), REVIEWED_FOR_API);
});

test('no function is executable by PUBLIC in schema app', async () => {
  const { rows } = await owner.query<{ fn: string }>(
    `select p.oid::regprocedure::text as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'app' and has_function_privilege('public', p.oid, 'execute')`,
  );
  assert.deepEqual(rows, []);
});

// Times that are data (when the SFU saw media start and end, a Stripe event's own dates),
// never the current time: every rule about "now" reads app.now() (the test clock moves it).
test('no security-definer function takes the current time from its caller', async () => {
  const rows = await definers();
  const timed = rows
    .map((r) => r.fn)
    .filter((f) => f.includes('timestamp'))
    .filter((f) => !f.startsWith('app.sfu_') && !f.startsWith('app.billing_'));
  assert.deepEqual(timed, [], `definer functions taking a time: ${timed.join(', ')}`);
});
