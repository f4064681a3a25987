-- Up Migration
-- The SFU fleet (#15): nodes register and heartbeat here; each live session is placed on
-- one node, and every participant of it is sent there. sql/130_fleet.sql holds the
-- placement, heartbeat, drain and failover functions.
create table sfu_nodes (
  id text primary key check (id ~ '^[A-Za-z0-9._:-]{1,100}$'),
  signal_url text check (signal_url is null or signal_url ~ '^wss?://'),
  media_address text,
  capacity_tracks int not null check (capacity_tracks >= 0),
  reserve_tracks int not null default 2 check (reserve_tracks >= 1),
  gone_after_s int not null default 5 check (gone_after_s between 1 and 600),
  load_tracks int not null default 0,
  live_sessions int not null default 0,
  state text not null default 'active' check (state in ('active', 'draining', 'gone')),
  started_at timestamptz not null default now(),
  heartbeat_at timestamptz not null default now(),
  state_changed_at timestamptz not null default now()
);
comment on table sfu_nodes is 'SFU nodes of the fleet: where browsers signal (signal_url; null: the API''s own origin), capacity and load in tracks, last heartbeat, and state (active: takes sessions; draining: its sessions move away; gone: stopped heartbeating or lost its liveness lock). Not tenant data: written only by the SFU duty role through sql/130_fleet.sql.';

create table sfu_placements (
  session_id uuid primary key references recording_sessions (id) on delete cascade,
  organization_id uuid not null references organizations (id) on delete cascade,
  node_id text references sfu_nodes (id) on delete set null,
  tracks int not null default 0,
  resume_recording boolean not null default false,
  placed_at timestamptz not null default now()
);
create index sfu_placements_node_idx on sfu_placements (node_id);
comment on table sfu_placements is 'Which SFU node holds a live session (null: none yet, or its node went away and the next join re-places it), its live track count as the node last reported it, and whether recording resumes when the host joins on the new node. Tenant table; written only by security-definer functions.';

alter table sfu_placements enable row level security;
alter table sfu_placements force row level security;

-- Down Migration
drop table sfu_placements;
drop table sfu_nodes;
