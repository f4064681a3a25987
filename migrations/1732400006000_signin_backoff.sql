-- Up Migration
-- When a code last got a wrong guess: app.signin_verify slows repeated failures for one
-- address down progressively (browsers without a device cookie for it).
alter table login_codes add column last_failed_at timestamptz;
create index login_codes_email_failed_idx on login_codes (email, created_at) where attempts > 0;
comment on column login_codes.last_failed_at is 'The last wrong guess for this code; with attempts, the per-address failure count behind the progressive slow-down.';

-- Down Migration
drop index login_codes_email_failed_idx;
alter table login_codes drop column last_failed_at;
