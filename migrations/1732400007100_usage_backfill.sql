-- Up Migration
-- The usage ledger from before its triggers (sql/100_dashboard.sql): one row per closed
-- track (seconds and bytes, at the time it ended), per stored transcript (seconds), per
-- erased session (bytes freed), so usage and billing limits count what an existing
-- deployment already recorded. Source ids are the ones the triggers use, so nothing counts twice.
insert into usage_events (organization_id, session_id, metric, quantity, occurred_at, source_id)
  select t.organization_id, t.session_id, m.metric,
         case m.metric when 'recording_seconds' then greatest(round(extract(epoch from t.ended_at - t.started_at))::bigint, 0)
                       else t.byte_count end,
         t.ended_at, t.id::text
    from tracks t cross join (values ('recording_seconds'), ('bytes_stored')) as m (metric)
   where t.ended_at is not null
  on conflict do nothing;

insert into usage_events (organization_id, session_id, metric, quantity, occurred_at, source_id)
  select tr.organization_id, tr.session_id, 'transcribed_seconds', greatest(round(tr.audio_seconds)::bigint, 0), tr.created_at, tr.run_id::text
    from transcripts tr
  on conflict do nothing;

insert into usage_events (organization_id, session_id, metric, quantity, occurred_at, source_id)
  select s.organization_id, s.id, 'bytes_erased',
         coalesce((select sum(u.quantity) from usage_events u
                    where u.organization_id = s.organization_id and u.session_id = s.id and u.metric = 'bytes_stored'), 0),
         s.key_erased_at, s.id::text
    from recording_sessions s
   where s.key_erased_at is not null
  on conflict do nothing;

-- Down Migration
-- The backfilled rows stay: the ledger is append-only, and they are true.
select 1;
