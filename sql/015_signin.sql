-- Sign-in state under row-level security, and the functions sign-in runs through.
--
-- users, auth_sessions, login_codes and rate_limits are not tenant tables, but the API role
-- must not reach other people's rows: a user reads their own user row (and the rows of
-- members of the org their proven context names), their own sessions, and nothing of
-- login_codes or rate_limits. Everything else happens in the security-definer functions
-- below, which take time only from app.now():
--
-- * app.signin_issue_code(email, ttl): the database draws the 6-digit code, stores only its
--   HMAC under app.context_key.code_key, and returns the code sealed (AES-256-CBC) under
--   that same key, which the API process derives from SERVER_SECRET and the API role
--   cannot read. Someone holding only the API role's connection can ask for a code but
--   cannot learn it, so cannot sign in as anyone.
-- * app.signin_verify(email, code, new token, ...): checks the newest live code, counts a
--   failure, or creates the session for that address (storing sha256 of the token).
-- * app.signin_restore(restore token, new token, ...): ends a pending account deletion.

select app.enforce_tenant_rls('users', 'auth_sessions', 'login_codes', 'rate_limits');

drop policy if exists users_select on users;
create policy users_select on users for select
  using (id = (select app.current_user_id())
         or exists (select 1 from public.memberships m where m.user_id = users.id and m.organization_id = (select app.current_org_id())));
drop policy if exists users_update on users;
create policy users_update on users for update
  using (id = (select app.current_user_id())) with check (id = (select app.current_user_id()));

drop policy if exists auth_sessions_select on auth_sessions;
create policy auth_sessions_select on auth_sessions for select using (user_id = (select app.current_user_id()));
drop policy if exists auth_sessions_revoke on auth_sessions;
create policy auth_sessions_revoke on auth_sessions for update
  using (user_id = (select app.current_user_id())) with check (user_id = (select app.current_user_id()) and revoked_at is not null);
-- login_codes and rate_limits: no policy, so no rows for anyone but the owner.

create or replace function app.code_hash(p_id uuid, p_email text, p_code text) returns bytea
  language sql stable security definer set search_path = pg_catalog, public as $$
  select hmac(convert_to(p_id::text || ':' || p_email || ':' || p_code, 'UTF8'), (select code_key from app.context_key where id), 'sha256')
$$;

-- Issues a code for the address (retiring earlier live ones) and returns it sealed:
-- 16-byte IV || AES-256-CBC(code) under code_key.
create or replace function app.signin_issue_code(p_email text, p_ttl_s int) returns bytea
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_now timestamptz := app.now();
  v_id uuid := gen_random_uuid();
  v_code text := lpad(((('x' || encode(gen_random_bytes(4), 'hex'))::bit(32)::bigint & 2147483647) % 1000000)::text, 6, '0');
  v_key bytea := (select code_key from app.context_key where id);
  v_iv bytea := gen_random_bytes(16);
begin
  if v_key is null then raise exception 'sign-in is not configured (no code key)'; end if;
  if p_email is null or p_email <> lower(p_email) or length(p_email) not between 3 and 254 then
    raise exception 'invalid_input: bad address';
  end if;
  -- A ceiling the API role cannot lift: at most 10 codes per address per 15 minutes, so even
  -- SQL as the API role gets 50 guesses per quarter hour at most (HTTP clients far fewer).
  if (select count(*) from public.login_codes c where c.email = p_email and c.created_at > v_now - interval '15 minutes') >= 10 then
    raise exception 'rate_limited: too many codes for this address; try again later';
  end if;
  update public.login_codes set dead_at = v_now where email = p_email and used_at is null and dead_at is null;
  insert into public.login_codes (id, email, code_hash, created_at, expires_at)
    values (v_id, p_email, app.code_hash(v_id, p_email, v_code), v_now, v_now + make_interval(secs => least(greatest(p_ttl_s, 60), 3600)));
  return v_iv || encrypt_iv(convert_to(v_code, 'UTF8'), v_key, v_iv, 'aes-cbc/pad:pkcs');
end $$;

-- Checks a code. status: 'ok' (a session was created for p_token), 'restore' (the account is
-- pending deletion: a restore token was stored instead), 'invalid', or 'slow_down' (too many
-- recent failures for this address: retry_after seconds; nothing was checked or counted).
-- Progressive slow-down: from the 10th wrong guess for an address within 24 hours, each
-- next try waits 30 s * 2^(failures-10) after the last failure (at most 15 minutes).
-- p_trusted: the browser holds a device cookie for this address (it signed in here before):
-- it keeps its own budget and is not slowed by an attacker's failures (OWASP's device cookies).
drop function if exists app.signin_verify(text, text, text, text, text, text, int, int);
create or replace function app.signin_verify(p_email text, p_code text, p_token text, p_restore_token text,
    p_user_agent text, p_client_ip text, p_max_attempts int, p_session_ttl_s int, p_trusted boolean)
  returns table (status text, user_id uuid, email text, display_name text, auth_session_id uuid, purge_at timestamptz, retry_after int)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
#variable_conflict use_column
declare
  v_now timestamptz := app.now();
  v_code public.login_codes;
  v_user public.users;
  v_sid uuid;
  v_failures int;
  v_last timestamptz;
  v_wait double precision;
begin
  if not coalesce(p_trusted, false) then
    select coalesce(sum(c.attempts), 0)::int, max(c.last_failed_at) into v_failures, v_last
      from public.login_codes c where c.email = p_email and c.attempts > 0 and c.created_at > v_now - interval '24 hours';
    if v_failures >= 10 and v_last is not null then
      v_wait := least(30 * power(2, least(v_failures - 10, 10)), 900) - extract(epoch from v_now - v_last);
      if v_wait > 0 then
        return query select 'slow_down'::text, null::uuid, null::text, null::text, null::uuid, null::timestamptz, ceil(v_wait)::int;
        return;
      end if;
    end if;
  end if;
  select * into v_code from public.login_codes c
   where c.email = p_email and c.used_at is null and c.dead_at is null and c.expires_at > v_now
   order by c.created_at desc limit 1 for update;
  if not found then return query select 'invalid'::text, null::uuid, null::text, null::text, null::uuid, null::timestamptz, null::int; return; end if;
  if p_code is null or app.code_hash(v_code.id, p_email, p_code) <> v_code.code_hash then
    update public.login_codes set attempts = attempts + 1, last_failed_at = v_now,
           dead_at = case when attempts + 1 >= least(greatest(p_max_attempts, 1), 10) then v_now else dead_at end
     where id = v_code.id;
    return query select 'invalid'::text, null::uuid, null::text, null::text, null::uuid, null::timestamptz, null::int; return;
  end if;
  update public.login_codes set used_at = v_now where id = v_code.id;
  insert into public.users (email, last_sign_in_at) values (p_email, v_now)
    on conflict (email) do update set last_sign_in_at = v_now returning * into v_user;
  if v_user.deletion_due_at is not null then
    update public.users set restore_token_hash = sha256(convert_to(p_restore_token, 'UTF8')),
           restore_token_expires_at = v_now + interval '15 minutes' where id = v_user.id;
    return query select 'restore'::text, v_user.id, v_user.email, v_user.display_name, null::uuid, v_user.deletion_due_at, null::int; return;
  end if;
  insert into public.auth_sessions (user_id, token_hash, created_at, last_seen_at, expires_at, user_agent, client_ip)
    values (v_user.id, sha256(convert_to(p_token, 'UTF8')), v_now, v_now,
            v_now + make_interval(secs => least(greatest(p_session_ttl_s, 60), 90 * 86400)), left(p_user_agent, 300), left(p_client_ip, 64))
    returning id into v_sid;
  return query select 'ok'::text, v_user.id, v_user.email, v_user.display_name, v_sid, null::timestamptz, null::int;
end $$;

-- Ends a pending account deletion for the holder of a live restore token, and signs in.
create or replace function app.signin_restore(p_restore_token text, p_token text, p_user_agent text, p_client_ip text, p_session_ttl_s int)
  returns table (user_id uuid, email text, display_name text, auth_session_id uuid)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
#variable_conflict use_column
declare v_now timestamptz := app.now(); v_user public.users; v_sid uuid;
begin
  update public.users u set deletion_requested_at = null, deletion_due_at = null, restore_token_hash = null,
         restore_token_expires_at = null, last_sign_in_at = v_now
   where u.restore_token_hash = sha256(convert_to(p_restore_token, 'UTF8')) and u.restore_token_expires_at > v_now and u.deletion_due_at > v_now
  returning * into v_user;
  if not found then return; end if;
  insert into public.auth_sessions (user_id, token_hash, created_at, last_seen_at, expires_at, user_agent, client_ip)
    values (v_user.id, sha256(convert_to(p_token, 'UTF8')), v_now, v_now,
            v_now + make_interval(secs => least(greatest(p_session_ttl_s, 60), 90 * 86400)), left(p_user_agent, 300), left(p_client_ip, 64))
    returning id into v_sid;
  return query select v_user.id, v_user.email, v_user.display_name, v_sid;
end $$;

-- The signed-in user asks for their account's deletion: due in 30 days from app.now(),
-- every session revoked. NULL when already pending.
create or replace function app.request_account_deletion() returns timestamptz
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v_user uuid := app.current_user_id(); v_now timestamptz := app.now(); v_due timestamptz;
begin
  if v_user is null then raise exception 'unauthenticated: sign in first'; end if;
  update public.users set deletion_requested_at = v_now, deletion_due_at = v_now + interval '30 days',
         restore_token_hash = null, restore_token_expires_at = null
   where id = v_user and deletion_due_at is null returning deletion_due_at into v_due;
  if v_due is not null then
    update public.auth_sessions set revoked_at = v_now where user_id = v_user and revoked_at is null;
  end if;
  return v_due;
end $$;

-- One hit on a fixed-window rate-limit bucket; returns the count and the window's start.
create or replace function app.rate_limit_hit(p_bucket text, p_window_s int, out hits int, out window_start timestamptz)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
#variable_conflict use_column
declare v_w int := least(greatest(p_window_s, 1), 86400); v_start timestamptz;
begin
  if p_bucket !~ '^[a-z-]{1,40}:[A-Za-z0-9_-]{43}$' then raise exception 'invalid_input: bad bucket'; end if;
  v_start := to_timestamp(floor(extract(epoch from app.now()) / v_w) * v_w);
  insert into public.rate_limits as r (bucket, window_start, count) values (p_bucket, v_start, 1)
    on conflict (bucket, window_start) do update set count = r.count + 1
    returning r.count into hits;
  window_start := v_start;
end $$;

revoke all on users, auth_sessions, login_codes, rate_limits from recorder_app;
grant select on users, auth_sessions to recorder_app;
grant update (display_name) on users to recorder_app;
grant update (revoked_at) on auth_sessions to recorder_app;
