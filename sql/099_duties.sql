-- Roles by duty: who may execute which function. Runs last, after every file created its
-- functions; it first takes EXECUTE away from everyone, so this file is the whole list.
--
-- recorder_app   the request path (the API's login is a member): functions that act only
--                for the proven user (app.begin_request) in the proven org, or for the
--                holder of a secret (guest link, sign-in code, restore token).
-- recorder_sfu   SFU capture: the sfu_* write path, for the org a join token names.
-- recorder_jobs  job workers: the transcription worker path and whole-org exports, for the
--                org a job payload names (it inherits recorder_app's table grants, under RLS).
-- recorder_sweep lifecycle and billing sweeps, Stripe webhooks: the cross-tenant functions.
-- Queue maintenance, key rotation and the clock override: the owner only.
-- Webhooks (recorder_jobs delivers, recorder_sweep prunes the log): granted at the end of
-- sql/120_webhooks.sql, which runs after this file.
--
-- Every security-definer function pins search_path. Grace periods (org and account deletion),
-- retention, export expiry and every expiry the request path meets are checked against
-- app.now(): no function takes the current time from its caller (the times the SFU passes
-- are when media started and ended, stored as data, and a Stripe event's own timestamps). test/definer-grants.test.ts holds the reviewed
-- list of what recorder_app may execute.

revoke execute on all functions in schema app from public, recorder_app, recorder_sfu, recorder_jobs, recorder_sweep;
revoke all on lifecycle_schedule from recorder_app;
grant select on lifecycle_schedule to recorder_app;

-- Policy helpers (invoker functions run as the querying role).
grant execute on function app.current_org_id(), app.current_user_id(), app.current_role_in_org(), app.is_member(), app.is_admin(),
  app.acting_for_org(), app.member_org_id(), app.admin_org_id(), app.org_deletion_due(uuid), app.privileged_role(), app.billing_entitled(text),
  app.billing_current_subscription(uuid)
  to recorder_app, recorder_sfu, recorder_jobs, recorder_sweep;

-- The request path.
grant execute on function app.begin_request(text, uuid, int), app.create_organization(text), app.my_memberships(),
  app.accept_invitation(bytea), app.signin_issue_code(text, int), app.signin_verify(text, text, text, text, text, text, int, int, boolean),
  app.signin_restore(text, text, text, text, int), app.request_account_deletion(), app.rate_limit_hit(text, int),
  app.guest_join(uuid, bytea, text), app.transcription_rerun(uuid), app.schedule_org_deletion(), app.cancel_org_deletion(),
  app.my_sole_ownerships(), app.store_deletion_certificate(uuid, uuid, uuid, text, jsonb, text), app.current_seat_limit(),
  app.org_kms_key(uuid), app.guest_join_studio(uuid, bytea, text, text, uuid), app.guest_session_info(uuid, bytea),
  app.host_record_consent(uuid, text)
  to recorder_app;

-- SFU capture.
grant execute on function app.sfu_session(uuid), app.sfu_event(uuid, text, uuid, uuid, jsonb),
  app.sfu_participant_presence(uuid, uuid, boolean), app.sfu_start_take(uuid, uuid, timestamptz),
  app.sfu_stop_take(uuid, uuid, uuid, timestamptz), app.sfu_open_track(uuid, uuid, uuid, text, text, int, int, text, timestamptz),
  app.sfu_add_chunk(uuid, uuid, int, text, int, bytea, int, timestamptz, timestamptz, int, int, bigint, bigint),
  app.sfu_close_track(uuid, uuid, timestamptz, int), app.sfu_end_session(uuid, uuid),
  app.sfu_resume_track(uuid, uuid, text)
  to recorder_sfu;

-- Job workers.
grant execute on function app.transcription_claim(uuid, text, int), app.transcription_source(uuid),
  app.transcription_chunks(uuid, uuid), app.transcription_heartbeat(uuid, text, int, int, text, real),
  app.transcription_finish(uuid, int, text, text, text, text, int, int, real, real),
  app.transcription_fail(uuid, text, int, text, text, boolean), app.org_kms_key(uuid)
  to recorder_jobs;

-- Sweeps and webhooks.
grant execute on function app.erased_sessions_pending_sweep(int), app.sweep_session_media(uuid),
  app.erased_transcripts_pending_sweep(int), app.sweep_session_transcripts(uuid),
  app.lifecycle_orgs_due(), app.lifecycle_claim_reminders(), app.org_deletion_erase_keys(uuid),
  app.org_deletion_finish(uuid, jsonb), app.purge_orphaned_audit(), app.retention_due(int),
  app.lifecycle_erase_session(uuid, text), app.store_deletion_certificate(uuid, uuid, uuid, text, jsonb, text),
  app.lifecycle_accounts_due(int), app.purge_account(uuid), app.lifecycle_expired_exports(),
  app.lifecycle_mark_export_expired(uuid), app.lifecycle_fail_stale_exports(), app.org_kms_key(uuid),
  app.billing_claim_event(text, text, timestamptz), app.billing_checkout_completed(uuid, text, text, text, text),
  app.billing_apply_subscription(text, text, uuid, text, text, int, text, timestamptz, timestamptz, boolean, text, text, timestamptz, int),
  app.billing_invoice_event(text, text, text, bigint, text, text)
  to recorder_sweep;
grant usage on schema public, app to recorder_sfu, recorder_jobs, recorder_sweep;
grant select, insert, update on lifecycle_schedule to recorder_sweep;
grant delete on rate_limits, login_codes to recorder_sweep;
grant select on rate_limits, login_codes to recorder_sweep;
drop policy if exists rate_limits_sweep on rate_limits;
create policy rate_limits_sweep on rate_limits for all to recorder_sweep using (true);
drop policy if exists login_codes_sweep on login_codes;
create policy login_codes_sweep on login_codes for all to recorder_sweep using (true);
