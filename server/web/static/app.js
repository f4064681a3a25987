// Renders the plain pages from the JSON API. Text goes in through textContent only, so
// names and emails can never become markup.

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const page = document.body.dataset.page;
const orgId = document.body.dataset.org;

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat())
    if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function csrf() {
  const m = document.cookie.match(/(?:^|;\s*)csrf_token=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : '';
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), 'x-csrf-token': csrf() },
    body: body ? JSON.stringify(body) : undefined,
    credentials: 'same-origin',
  });
  const data = res.status === 204 ? {} : await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error((data.error && data.error.message) || `Request failed (${res.status})`);
    err.status = res.status;
    err.code = data.error && data.error.code;
    err.error = data.error || {};
    throw err;
  }
  return data;
}

function render(...nodes) {
  // Flattened like h()'s children: pages pass conditional sections as arrays.
  main.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined));
}

function message(text, cls = 'error') {
  return h('p', { class: cls, role: cls === 'error' ? 'alert' : 'status' }, text);
}

function when(date) {
  return new Date(date).toLocaleString();
}

async function me() {
  try {
    return await api('GET', '/api/me');
  } catch (e) {
    if (e.status === 401) {
      location.href = '/signin?next=' + encodeURIComponent(location.pathname + location.hash);
      return new Promise(() => {});
    }
    throw e;
  }
}

function navFor(user) {
  nav.replaceChildren(
    h('a', { href: '/orgs' }, 'Organizations'),
    h('a', { href: '/account' }, 'Account'),
    h('span', { class: 'right' }, user.email),
    h(
      'button',
      {
        class: 'secondary',
        id: 'signout',
        onclick: async () => {
          await api('POST', '/api/auth/logout');
          location.href = '/signin';
        },
      },
      'Sign out',
    ),
  );
}

const pages = {
  async signin() {
    const next = new URLSearchParams(location.search).get('next');
    const target = next && next.startsWith('/') && !next.startsWith('//') ? next : '/orgs';
    const status = h('div');
    const emailInput = h('input', {
      type: 'email',
      name: 'email',
      required: true,
      placeholder: 'you@example.com',
      autocomplete: 'email',
      id: 'email',
    });
    const codeInput = h('input', {
      name: 'code',
      inputmode: 'numeric',
      pattern: '[0-9]{6}',
      maxlength: 6,
      required: true,
      placeholder: '6-digit code',
      autocomplete: 'one-time-code',
      id: 'code',
    });
    const codeForm = h(
      'form',
      {
        id: 'code-form',
        hidden: true,
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            await api('POST', '/api/auth/verify', { email: emailInput.value, code: codeInput.value.trim() });
            location.href = target;
          } catch (err) {
            // An account being deleted: offer to restore it (docs/data-lifecycle.md).
            if (err.code === 'account_pending_deletion') {
              status.replaceChildren(
                message(`This account will be deleted on ${when(err.error.purge_at)}.`),
                h(
                  'button',
                  {
                    id: 'restore-account',
                    onclick: async () => {
                      try {
                        await api('POST', '/api/auth/restore', { restore_token: err.error.restore_token });
                        location.href = target;
                      } catch (e2) {
                        status.replaceChildren(message(e2.message));
                      }
                    },
                  },
                  'Restore my account',
                ),
              );
            } else status.replaceChildren(message(err.message));
          }
        },
      },
      codeInput,
      h('button', { type: 'submit' }, 'Sign in'),
    );
    const emailForm = h(
      'form',
      {
        id: 'email-form',
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            await api('POST', '/api/auth/code', { email: emailInput.value });
            status.replaceChildren(
              message(`We sent a 6-digit code to ${emailInput.value}. It expires in 10 minutes.`, 'ok'),
            );
            codeForm.hidden = false;
            codeInput.focus();
          } catch (err) {
            status.replaceChildren(message(err.message));
          }
        },
      },
      emailInput,
      h('button', { type: 'submit' }, 'Email me a code'),
    );
    render(
      h('h1', {}, 'Sign in'),
      h('p', { class: 'muted' }, 'No password: we email you a code.'),
      emailForm,
      codeForm,
      status,
    );
  },

  async orgs() {
    const { user, memberships } = await me();
    navFor(user);
    const status = h('div');
    const name = h('input', {
      name: 'name',
      required: true,
      maxlength: 100,
      placeholder: 'Organization name',
      id: 'org-name',
    });
    render(
      h('h1', {}, 'Your organizations'),
      memberships.length
        ? h(
            'ul',
            { class: 'plain', id: 'org-list' },
            memberships.map((m) =>
              h('li', {}, h('a', { href: `/orgs/${m.id}` }, m.name), ' ', h('span', { class: 'muted' }, `(${m.role})`)),
            ),
          )
        : h('p', { class: 'muted' }, 'You are not in any organization yet.'),
      h('h2', {}, 'Create an organization'),
      h(
        'form',
        {
          id: 'create-org',
          onsubmit: async (e) => {
            e.preventDefault();
            try {
              const org = await api('POST', '/api/orgs', { name: name.value });
              location.href = `/orgs/${org.id}`;
            } catch (err) {
              status.replaceChildren(message(err.message));
            }
          },
        },
        name,
        h('button', { type: 'submit' }, 'Create'),
      ),
      status,
    );
  },

  async org() {
    const { user } = await me();
    navFor(user);
    const status = h('div', { id: 'status' });
    let org;
    try {
      org = await api('GET', `/api/orgs/${orgId}`);
    } catch (err) {
      render(h('h1', {}, 'Organization'), message(err.message));
      return;
    }
    const admin = org.role === 'owner' || org.role === 'admin';
    const { members } = await api('GET', `/api/orgs/${orgId}/members`);
    const invitations = admin ? (await api('GET', `/api/orgs/${orgId}/invitations`)).invitations : [];
    const roles = org.role === 'owner' ? ['member', 'admin', 'owner'] : ['member', 'admin'];
    const act = (fn) => async () => {
      try {
        await fn();
        location.reload();
      } catch (err) {
        status.replaceChildren(message(err.message));
      }
    };
    const memberRow = (m) =>
      h(
        'tr',
        { 'data-user': m.user_id },
        h('td', {}, m.email, m.user_id === user.id ? ' (you)' : ''),
        h(
          'td',
          {},
          admin && m.user_id !== user.id && (org.role === 'owner' || m.role !== 'owner')
            ? h(
                'select',
                {
                  'aria-label': `Role of ${m.email}`,
                  onchange: (e) =>
                    act(() => api('PATCH', `/api/orgs/${orgId}/members/${m.user_id}`, { role: e.target.value }))(),
                },
                roles.map((r) => h('option', { value: r, selected: r === m.role }, r)),
              )
            : m.role,
        ),
        h('td', {}, when(m.joined_at)),
        h(
          'td',
          {},
          m.user_id === user.id
            ? h(
                'button',
                {
                  class: 'danger',
                  onclick: act(async () => {
                    await api('DELETE', `/api/orgs/${orgId}/members/${m.user_id}`);
                    location.href = '/orgs';
                  }),
                },
                'Leave',
              )
            : admin && (org.role === 'owner' || m.role !== 'owner')
              ? h(
                  'button',
                  { class: 'danger', onclick: act(() => api('DELETE', `/api/orgs/${orgId}/members/${m.user_id}`)) },
                  'Remove',
                )
              : '',
        ),
      );
    const inviteEmail = h('input', {
      type: 'email',
      required: true,
      placeholder: 'colleague@example.com',
      id: 'invite-email',
    });
    const inviteRole = h(
      'select',
      { id: 'invite-role' },
      roles.map((r) => h('option', { value: r }, r)),
    );
    render(
      h('h1', {}, org.name),
      h(
        'p',
        { class: 'muted' },
        `You are ${org.role}. ${org.member_count} member(s).`,
        admin ? ' ' : '',
        admin ? h('a', { href: `/orgs/${orgId}/audit` }, 'Audit log') : '',
        ' ',
        h('a', { href: `/orgs/${orgId}/sessions`, id: 'sessions-link' }, 'Recording sessions'),
      ),
      status,
      h('h2', {}, 'Members'),
      h(
        'table',
        { id: 'members' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Email'), h('th', {}, 'Role'), h('th', {}, 'Joined'), h('th', {}, ''))),
        h('tbody', {}, members.map(memberRow)),
      ),
      admin
        ? [
            h('h2', {}, 'Invite someone'),
            h(
              'form',
              {
                id: 'invite',
                onsubmit: async (e) => {
                  e.preventDefault();
                  await act(() =>
                    api('POST', `/api/orgs/${orgId}/invitations`, { email: inviteEmail.value, role: inviteRole.value }),
                  )();
                },
              },
              inviteEmail,
              inviteRole,
              h('button', { type: 'submit' }, 'Send invitation'),
            ),
            h('h2', {}, 'Pending invitations'),
            invitations.length
              ? h(
                  'table',
                  { id: 'invitations' },
                  h(
                    'tbody',
                    {},
                    invitations.map((i) =>
                      h(
                        'tr',
                        {},
                        h('td', {}, i.email),
                        h('td', {}, i.role),
                        h('td', {}, `expires ${when(i.expires_at)}`),
                        h(
                          'td',
                          {},
                          h(
                            'button',
                            {
                              class: 'secondary',
                              onclick: act(() => api('DELETE', `/api/orgs/${orgId}/invitations/${i.id}`)),
                            },
                            'Revoke',
                          ),
                        ),
                      ),
                    ),
                  ),
                )
              : h('p', { class: 'muted' }, 'None.'),
          ]
        : [],
    );
    if (admin) await billingSection();
    if (admin) await lifecycleSection(org);
  },

  async audit() {
    const { user } = await me();
    navFor(user);
    let data;
    try {
      data = await api('GET', `/api/orgs/${orgId}/audit`);
    } catch (err) {
      render(h('h1', {}, 'Audit log'), message(err.message));
      return;
    }
    render(
      h('h1', {}, 'Audit log'),
      h('p', {}, h('a', { href: `/orgs/${orgId}` }, '← Back to the organization')),
      h(
        'table',
        { id: 'audit' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'When'),
            h('th', {}, 'Who'),
            h('th', {}, 'What'),
            h('th', {}, 'Whom'),
            h('th', {}, 'Details'),
          ),
        ),
        h(
          'tbody',
          {},
          data.entries.map((e) =>
            h(
              'tr',
              {},
              h('td', {}, when(e.created_at)),
              h('td', {}, e.actor.email || '—'),
              h('td', {}, e.action),
              h('td', {}, e.target ? e.target.email || e.target.user_id : ''),
              h(
                'td',
                { class: 'muted' },
                Object.entries(e.details)
                  .filter(([k]) => k !== 'auth_session_id')
                  .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
                  .join(', '),
              ),
            ),
          ),
        ),
      ),
    );
  },

  async account() {
    const { user } = await me();
    navFor(user);
    const { sessions } = await api('GET', '/api/auth/sessions');
    render(
      h('h1', {}, 'Your account'),
      h('p', {}, `Signed in as ${user.email}.`),
      h('h2', {}, 'Active sessions'),
      h(
        'table',
        { id: 'sessions' },
        h(
          'tbody',
          {},
          sessions.map((s) =>
            h(
              'tr',
              {},
              h('td', {}, s.user_agent || 'Unknown browser', s.current ? ' (this one)' : ''),
              h('td', {}, s.client_ip || ''),
              h('td', {}, `last seen ${when(s.last_seen_at)}`),
              h(
                'td',
                {},
                s.current
                  ? ''
                  : h(
                      'button',
                      {
                        class: 'danger',
                        onclick: async () => {
                          await api('DELETE', `/api/auth/sessions/${s.id}`);
                          location.reload();
                        },
                      },
                      'Revoke',
                    ),
              ),
            ),
          ),
        ),
      ),
      deleteAccountSection(user),
    );
  },

  async sessions() {
    const { user } = await me();
    navFor(user);
    const status = h('div');
    let list;
    try {
      list = await api('GET', `/api/orgs/${orgId}/sessions`);
    } catch (err) {
      render(h('h1', {}, 'Recording sessions'), message(err.message));
      return;
    }
    const title = h('input', {
      name: 'title',
      required: true,
      maxlength: 200,
      placeholder: 'Episode 12 with …',
      id: 'session-title',
    });
    render(
      h('h1', {}, 'Recording sessions'),
      h('p', {}, h('a', { href: `/orgs/${orgId}` }, '← Organization')),
      h(
        'form',
        {
          id: 'create-session',
          onsubmit: async (e) => {
            e.preventDefault();
            try {
              const s = await api('POST', `/api/orgs/${orgId}/sessions`, { title: title.value });
              sessionStorage.setItem(`guest:${s.id}`, s.guest_url);
              location.href = `/orgs/${orgId}/sessions/${s.id}`;
            } catch (err) {
              status.replaceChildren(message(err.message));
            }
          },
        },
        title,
        h('button', { type: 'submit' }, 'New session'),
      ),
      status,
      list.sessions.length
        ? h(
            'table',
            { id: 'sessions' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, 'Title'),
                h('th', {}, 'Status'),
                h('th', {}, 'Participants'),
                h('th', {}, 'Tracks'),
                h('th', {}, 'Created'),
              ),
            ),
            h(
              'tbody',
              {},
              list.sessions.map((s) =>
                h(
                  'tr',
                  {},
                  h('td', {}, h('a', { href: `/orgs/${orgId}/sessions/${s.id}` }, s.title)),
                  h('td', {}, s.status),
                  h('td', {}, s.participant_count),
                  h('td', {}, s.track_count),
                  h('td', {}, when(s.created_at)),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No sessions yet.'),
    );
  },

  async session() {
    const { user } = await me();
    navFor(user);
    const sessionId = document.body.dataset.session;
    const status = h('div', { id: 'status' });
    let s;
    try {
      s = await api('GET', `/api/orgs/${orgId}/sessions/${sessionId}`);
    } catch (err) {
      render(h('h1', {}, 'Session'), message(err.message));
      return;
    }
    const guestUrl = sessionStorage.getItem(`guest:${sessionId}`);
    const guestBox = h(
      'p',
      { id: 'guest-link' },
      guestUrl ? ['Guest link: ', h('code', {}, guestUrl)] : 'Guest links are shown once when made.',
    );
    const names = new Map(s.participants.map((p) => [p.id, p.display_name]));
    render(
      h('h1', {}, s.title),
      h('p', {}, h('a', { href: `/orgs/${orgId}/sessions` }, '← Sessions'), ` · ${s.status}`),
      status,
      s.status === 'open'
        ? h(
            'p',
            {},
            h('a', { href: `/orgs/${orgId}/sessions/${sessionId}/room` }, h('button', {}, 'Open the room')),
            ' ',
            h(
              'button',
              {
                class: 'secondary',
                id: 'new-guest-link',
                onclick: async () => {
                  try {
                    const r = await api('POST', `/api/orgs/${orgId}/sessions/${sessionId}/guest-link`);
                    sessionStorage.setItem(`guest:${sessionId}`, r.guest_url);
                    guestBox.replaceChildren('Guest link: ', h('code', {}, r.guest_url));
                  } catch (err) {
                    status.replaceChildren(message(err.message));
                  }
                },
              },
              'New guest link',
            ),
          )
        : '',
      s.status === 'open' ? guestBox : '',
      h('h2', {}, 'Tracks'),
      s.tracks.length
        ? h(
            'table',
            { id: 'tracks' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, 'Take'),
                h('th', {}, 'Participant'),
                h('th', {}, 'Kind'),
                h('th', {}, 'Started'),
                h('th', {}, 'Size'),
                h('th', {}, ''),
              ),
            ),
            h(
              'tbody',
              {},
              s.tracks.map((t) =>
                h(
                  'tr',
                  {},
                  h('td', {}, t.take),
                  h('td', {}, t.participant),
                  h('td', {}, t.kind),
                  h('td', {}, when(t.started_at)),
                  h(
                    'td',
                    {},
                    `${(t.bytes / 1024).toFixed(0)} KiB${t.lost_chunks ? `, ${t.lost_chunks} chunk(s) lost` : ''}`,
                  ),
                  h('td', {}, h('a', { href: t.download_url }, 'Download')),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'Nothing recorded yet.'),
      h('section', { id: 'transcript' }),
      h('h2', {}, 'Participants'),
      h(
        'ul',
        { class: 'plain', id: 'participants' },
        s.participants.map((p) =>
          h('li', {}, `${p.display_name} (${p.role})`, p.joined_at ? ` · joined ${when(p.joined_at)}` : ''),
        ),
      ),
      h('h2', {}, 'Timeline'),
      h(
        'ul',
        { class: 'plain', id: 'timeline' },
        s.timeline.map((e) =>
          h('li', {}, `${when(e.at)} · ${e.kind}`, e.participant_id ? ` · ${names.get(e.participant_id) || ''}` : ''),
        ),
      ),
      h('h2', {}, 'Delete'),
      h(
        'p',
        { class: 'muted' },
        "Deleting erases the recording's encryption key: its audio can never be decrypted again.",
      ),
      h(
        'button',
        {
          class: 'danger',
          id: 'delete-session',
          onclick: async () => {
            if (!window.confirm('Delete this recording for good?')) return;
            try {
              await api('DELETE', `/api/orgs/${orgId}/sessions/${sessionId}`);
              location.href = `/orgs/${orgId}/sessions`;
            } catch (err) {
              status.replaceChildren(message(err.message));
            }
          },
        },
        'Delete recording',
      ),
    );
    void transcriptSection(sessionId);
  },

  async invite() {
    const token = new URLSearchParams(location.hash.slice(1)).get('token');
    if (!token) {
      render(h('h1', {}, 'Invitation'), message('This link has no invitation token.'));
      return;
    }
    const { user } = await me();
    navFor(user);
    const status = h('div');
    render(
      h('h1', {}, 'Invitation'),
      h('p', {}, `Accept as ${user.email}?`),
      h(
        'button',
        {
          id: 'accept',
          onclick: async () => {
            try {
              const r = await api('POST', '/api/invitations/accept', { token });
              location.href = `/orgs/${r.organization_id}`;
            } catch (err) {
              status.replaceChildren(message(err.message));
            }
          },
        },
        'Accept invitation',
      ),
      status,
    );
  },
};

// Billing on the org page (owners and admins): plan, seats, renewal and usage; owners pick a
// plan (Stripe Checkout) or manage card, invoices and cancellation (Stripe Customer Portal).
async function billingSection() {
  let b;
  try {
    b = await api('GET', `/api/orgs/${orgId}/billing`);
  } catch (err) {
    if (err.code !== 'billing_disabled') main.append(message(err.message));
    return;
  }
  const status = h('div');
  const go = (path, body) => async () => {
    try {
      location.href = (await api('POST', path, body)).url;
    } catch (err) {
      status.replaceChildren(message(err.message));
    }
  };
  const plan = h(
    'select',
    { id: 'billing-plan', 'aria-label': 'Plan' },
    b.plans.map((p) => h('option', { value: p.id }, p.name)),
  );
  const seats = h('input', {
    id: 'billing-seats',
    type: 'number',
    min: 1,
    max: 10000,
    value: Math.max(b.seats.used, 1),
    'aria-label': 'Seats',
  });
  const hours = b.usage.recording_hours;
  main.append(
    h(
      'section',
      { id: 'billing' },
      h('h2', {}, 'Billing'),
      h(
        'p',
        { id: 'billing-summary' },
        b.plan
          ? `Plan: ${b.plan.name} (${b.status}).`
          : `No paid plan${b.status === 'none' ? '' : ` (subscription ${b.status})`}.`,
        ` Seats: ${b.seats.used} used of ${b.seats.paid ?? 'unlimited'}.`,
        b.renews_at ? ` Renews ${when(b.renews_at)}.` : '',
        b.ends_at ? ` Ends ${when(b.ends_at)}.` : '',
      ),
      h('p', { class: 'muted' }, `Recording this period: ${hours.used} of ${hours.limit ?? 'unlimited'} hours.`),
      b.can_manage && !b.plan
        ? h(
            'form',
            {
              id: 'billing-checkout',
              onsubmit: (e) => {
                e.preventDefault();
                void go(`/api/orgs/${orgId}/billing/checkout`, { plan: plan.value, seats: Number(seats.value) })();
              },
            },
            plan,
            seats,
            h('button', { type: 'submit' }, 'Choose plan'),
          )
        : '',
      b.can_manage && b.has_billing_account
        ? h(
            'button',
            { id: 'billing-portal', class: 'secondary', onclick: go(`/api/orgs/${orgId}/billing/portal`) },
            'Manage billing',
          )
        : '',
      status,
    ),
  );
}

// Transcript on the session page: status while it runs (queued, running with progress, done,
// failed with the reason), the conversation with speakers and times, exports and re-run.
async function transcriptSection(sessionId) {
  const base = `/api/orgs/${orgId}/sessions/${sessionId}/transcript`;
  // Filled in place, right below the tracks (the page leaves an empty section there).
  const section = document.getElementById('transcript') ?? main.appendChild(h('section', { id: 'transcript' }));
  section.replaceChildren(h('h2', {}, 'Transcript'));
  const clock = (t) => {
    const s = Math.floor(t);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
  const show = async () => {
    let t;
    try {
      t = await api('GET', base);
    } catch (err) {
      section.replaceChildren(h('h2', {}, 'Transcript'), message(err.message));
      return;
    }
    const run = t.run;
    const state = !run
      ? 'Not transcribed.'
      : run.status === 'queued'
        ? 'Queued for transcription…'
        : run.status === 'running'
          ? `Transcribing… ${Math.round(run.progress * 100)}%`
          : run.status === 'failed'
            ? `Transcription failed: ${run.error ? run.error.message : 'unknown reason'}`
            : 'Done.';
    const busy = run && (run.status === 'queued' || run.status === 'running');
    const rerun = h(
      'button',
      {
        class: 'secondary',
        id: 'transcript-rerun',
        onclick: async () => {
          try {
            await api('POST', `${base}/rerun`);
            await show();
          } catch (err) {
            section.append(message(err.message));
          }
        },
      },
      run ? 'Transcribe again' : 'Transcribe',
    );
    const tr = t.transcript;
    section.replaceChildren(
      h('h2', {}, 'Transcript'),
      h('p', { id: 'transcript-status', 'data-status': t.status }, state, ' ', busy ? '' : rerun),
      tr
        ? h(
            'p',
            { id: 'transcript-exports' },
            'Download: ',
            ...['txt', 'srt', 'vtt', 'json'].flatMap((f) => [
              h('a', { href: `${base}/export?format=${f}` }, f.toUpperCase()),
              ' ',
            ]),
          )
        : '',
      tr
        ? tr.segments.length
          ? h(
              'table',
              { id: 'transcript-segments' },
              h(
                'tbody',
                {},
                tr.segments.map((s) =>
                  h(
                    'tr',
                    {},
                    h('td', { class: 'muted' }, `${clock(s.start)}–${clock(s.end)}`),
                    h('th', {}, s.speaker),
                    h('td', {}, s.text),
                  ),
                ),
              ),
            )
          : h('p', { class: 'muted' }, 'No speech was found.')
        : '',
    );
    if (busy) setTimeout(() => void show(), 3000);
  };
  await show();
}

(pages[page] || (() => render(message('Unknown page'))))().catch((err) => render(message(err.message)));

// Account deletion (docs/data-lifecycle.md): typed confirmation; restorable for 30 days.
function deleteAccountSection(user) {
  const status = h('div');
  const confirm = h('input', {
    type: 'email',
    id: 'delete-account-email',
    placeholder: user.email,
    'aria-label': 'Type your email address to confirm',
  });
  return h(
    'section',
    { id: 'delete-account' },
    h('h2', {}, 'Delete your account'),
    h(
      'p',
      { class: 'muted' },
      'You are signed out everywhere at once. Sign in again within 30 days to restore the account; after that it is gone.',
    ),
    h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            await api('DELETE', '/api/me', { confirm_email: confirm.value });
            location.href = '/signin';
          } catch (err) {
            status.replaceChildren(message(err.message));
          }
        },
      },
      confirm,
      h('button', { type: 'submit', class: 'danger' }, 'Delete my account'),
    ),
    status,
  );
}

// Retention, export and deletion on the org page (owners and admins).
async function lifecycleSection(org) {
  const status = h('div');
  const act = (fn) => async (e) => {
    if (e) e.preventDefault();
    try {
      await fn();
      location.reload();
    } catch (err) {
      status.replaceChildren(message(err.message));
    }
  };
  const [ret, del, exp] = await Promise.all([
    api('GET', `/api/orgs/${orgId}/retention`),
    api('GET', `/api/orgs/${orgId}/deletion`),
    api('GET', `/api/orgs/${orgId}/exports`),
  ]);
  const days = h('input', {
    id: 'retention-days',
    type: 'number',
    min: 1,
    max: 36500,
    value: ret.retention_days ?? '',
    placeholder: 'keep until deleted',
    'aria-label': 'Retention in days',
  });
  const recipient = h('input', {
    id: 'export-recipient',
    placeholder: 'age1… (or leave empty and give a passphrase)',
    'aria-label': 'age recipient',
  });
  const passphrase = h('input', {
    id: 'export-passphrase',
    type: 'password',
    placeholder: 'or a passphrase (12+ characters)',
    'aria-label': 'Passphrase',
  });
  const confirmName = h('input', {
    id: 'delete-org-name',
    placeholder: org.name,
    'aria-label': 'Type the organization name to confirm',
  });
  main.append(
    h(
      'section',
      { id: 'lifecycle' },
      h('h2', {}, 'Retention'),
      h(
        'p',
        { class: 'muted' },
        `Next sweep ${when(ret.next_sweep_at)}: ${ret.due_at_next_sweep.length} recording(s) will be erased.`,
      ),
      h(
        'form',
        {
          id: 'retention',
          onsubmit: act(() =>
            api('PUT', `/api/orgs/${orgId}/retention`, { retention_days: days.value ? Number(days.value) : null }),
          ),
        },
        days,
        h('button', { type: 'submit' }, 'Save retention'),
      ),
      h('h2', {}, 'Export everything'),
      h(
        'form',
        {
          id: 'export',
          onsubmit: act(() =>
            api(
              'POST',
              `/api/orgs/${orgId}/exports`,
              recipient.value.trim() ? { recipient: recipient.value.trim() } : { passphrase: passphrase.value },
            ),
          ),
        },
        recipient,
        passphrase,
        h('button', { type: 'submit' }, 'Start export'),
      ),
      h(
        'ul',
        { class: 'plain', id: 'exports' },
        exp.exports.map((x) =>
          h(
            'li',
            {},
            `${when(x.created_at)}: ${x.status}`,
            x.status === 'running' ? ` (${x.sessions_done}/${x.sessions_total} sessions)` : '',
            ' ',
            x.download_url ? h('a', { href: x.download_url }, `Download (until ${when(x.expires_at)})`) : '',
          ),
        ),
      ),
      org.role === 'owner'
        ? [
            h('h2', {}, 'Delete the organization'),
            del.scheduled
              ? [
                  h(
                    'p',
                    { class: 'error' },
                    `Scheduled for deletion on ${when(del.due_at)}. The organization is read-only until then.`,
                  ),
                  h(
                    'button',
                    { id: 'cancel-deletion', onclick: act(() => api('DELETE', `/api/orgs/${orgId}/deletion`)) },
                    'Cancel the deletion',
                  ),
                ]
              : h(
                  'form',
                  {
                    id: 'delete-org',
                    onsubmit: act(() =>
                      api('POST', `/api/orgs/${orgId}/deletion`, { confirm_name: confirmName.value }),
                    ),
                  },
                  confirmName,
                  h('button', { type: 'submit', class: 'danger' }, 'Delete in 7 days'),
                ),
          ]
        : [],
      status,
    ),
  );
}
