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
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
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
    throw err;
  }
  return data;
}

function render(...nodes) {
  main.replaceChildren(...nodes);
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
    h('button', { class: 'secondary', id: 'signout', onclick: async () => { await api('POST', '/api/auth/logout'); location.href = '/signin'; } }, 'Sign out'),
  );
}

const pages = {
  async signin() {
    const next = new URLSearchParams(location.search).get('next');
    const target = next && next.startsWith('/') && !next.startsWith('//') ? next : '/orgs';
    const status = h('div');
    const emailInput = h('input', { type: 'email', name: 'email', required: true, placeholder: 'you@example.com', autocomplete: 'email', id: 'email' });
    const codeInput = h('input', { name: 'code', inputmode: 'numeric', pattern: '[0-9]{6}', maxlength: 6, required: true, placeholder: '6-digit code', autocomplete: 'one-time-code', id: 'code' });
    const codeForm = h('form', { id: 'code-form', hidden: true, onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api('POST', '/api/auth/verify', { email: emailInput.value, code: codeInput.value.trim() });
        location.href = target;
      } catch (err) { status.replaceChildren(message(err.message)); }
    } }, codeInput, h('button', { type: 'submit' }, 'Sign in'));
    const emailForm = h('form', { id: 'email-form', onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api('POST', '/api/auth/code', { email: emailInput.value });
        status.replaceChildren(message(`We sent a 6-digit code to ${emailInput.value}. It expires in 10 minutes.`, 'ok'));
        codeForm.hidden = false;
        codeInput.focus();
      } catch (err) { status.replaceChildren(message(err.message)); }
    } }, emailInput, h('button', { type: 'submit' }, 'Email me a code'));
    render(h('h1', {}, 'Sign in'), h('p', { class: 'muted' }, 'No password: we email you a code.'), emailForm, codeForm, status);
  },

  async orgs() {
    const { user, memberships } = await me();
    navFor(user);
    const status = h('div');
    const name = h('input', { name: 'name', required: true, maxlength: 100, placeholder: 'Organization name', id: 'org-name' });
    render(
      h('h1', {}, 'Your organizations'),
      memberships.length
        ? h('ul', { class: 'plain', id: 'org-list' }, memberships.map((m) => h('li', {}, h('a', { href: `/orgs/${m.id}` }, m.name), ' ', h('span', { class: 'muted' }, `(${m.role})`))))
        : h('p', { class: 'muted' }, 'You are not in any organization yet.'),
      h('h2', {}, 'Create an organization'),
      h('form', { id: 'create-org', onsubmit: async (e) => {
        e.preventDefault();
        try { const org = await api('POST', '/api/orgs', { name: name.value }); location.href = `/orgs/${org.id}`; } catch (err) { status.replaceChildren(message(err.message)); }
      } }, name, h('button', { type: 'submit' }, 'Create')),
      status,
    );
  },

  async org() {
    const { user } = await me();
    navFor(user);
    const status = h('div', { id: 'status' });
    let org;
    try { org = await api('GET', `/api/orgs/${orgId}`); } catch (err) { render(h('h1', {}, 'Organization'), message(err.message)); return; }
    const admin = org.role === 'owner' || org.role === 'admin';
    const { members } = await api('GET', `/api/orgs/${orgId}/members`);
    const invitations = admin ? (await api('GET', `/api/orgs/${orgId}/invitations`)).invitations : [];
    const roles = org.role === 'owner' ? ['member', 'admin', 'owner'] : ['member', 'admin'];
    const act = (fn) => async () => { try { await fn(); location.reload(); } catch (err) { status.replaceChildren(message(err.message)); } };
    const memberRow = (m) => h('tr', { 'data-user': m.user_id },
      h('td', {}, m.email, m.user_id === user.id ? ' (you)' : ''),
      h('td', {}, admin && m.user_id !== user.id && (org.role === 'owner' || m.role !== 'owner')
        ? h('select', { 'aria-label': `Role of ${m.email}`, onchange: (e) => act(() => api('PATCH', `/api/orgs/${orgId}/members/${m.user_id}`, { role: e.target.value }))() },
            roles.map((r) => h('option', { value: r, selected: r === m.role }, r)))
        : m.role),
      h('td', {}, when(m.joined_at)),
      h('td', {}, m.user_id === user.id
        ? h('button', { class: 'danger', onclick: act(async () => { await api('DELETE', `/api/orgs/${orgId}/members/${m.user_id}`); location.href = '/orgs'; }) }, 'Leave')
        : admin && (org.role === 'owner' || m.role !== 'owner') ? h('button', { class: 'danger', onclick: act(() => api('DELETE', `/api/orgs/${orgId}/members/${m.user_id}`)) }, 'Remove') : ''));
    const inviteEmail = h('input', { type: 'email', required: true, placeholder: 'colleague@example.com', id: 'invite-email' });
    const inviteRole = h('select', { id: 'invite-role' }, roles.map((r) => h('option', { value: r }, r)));
    render(
      h('h1', {}, org.name),
      h('p', { class: 'muted' }, `You are ${org.role}. ${org.member_count} member(s).`, admin ? ' ' : '', admin ? h('a', { href: `/orgs/${orgId}/audit` }, 'Audit log') : ''),
      status,
      h('h2', {}, 'Members'),
      h('table', { id: 'members' }, h('thead', {}, h('tr', {}, h('th', {}, 'Email'), h('th', {}, 'Role'), h('th', {}, 'Joined'), h('th', {}, ''))), h('tbody', {}, members.map(memberRow))),
      admin ? [
        h('h2', {}, 'Invite someone'),
        h('form', { id: 'invite', onsubmit: async (e) => { e.preventDefault(); await act(() => api('POST', `/api/orgs/${orgId}/invitations`, { email: inviteEmail.value, role: inviteRole.value }))(); } }, inviteEmail, inviteRole, h('button', { type: 'submit' }, 'Send invitation')),
        h('h2', {}, 'Pending invitations'),
        invitations.length
          ? h('table', { id: 'invitations' }, h('tbody', {}, invitations.map((i) => h('tr', {}, h('td', {}, i.email), h('td', {}, i.role), h('td', {}, `expires ${when(i.expires_at)}`), h('td', {}, h('button', { class: 'secondary', onclick: act(() => api('DELETE', `/api/orgs/${orgId}/invitations/${i.id}`)) }, 'Revoke'))))))
          : h('p', { class: 'muted' }, 'None.'),
      ] : [],
    );
  },

  async audit() {
    const { user } = await me();
    navFor(user);
    let data;
    try { data = await api('GET', `/api/orgs/${orgId}/audit`); } catch (err) { render(h('h1', {}, 'Audit log'), message(err.message)); return; }
    render(
      h('h1', {}, 'Audit log'),
      h('p', {}, h('a', { href: `/orgs/${orgId}` }, '← Back to the organization')),
      h('table', { id: 'audit' },
        h('thead', {}, h('tr', {}, h('th', {}, 'When'), h('th', {}, 'Who'), h('th', {}, 'What'), h('th', {}, 'Whom'), h('th', {}, 'Details'))),
        h('tbody', {}, data.entries.map((e) => h('tr', {}, h('td', {}, when(e.created_at)), h('td', {}, e.actor.email || '—'), h('td', {}, e.action), h('td', {}, e.target ? e.target.email || e.target.user_id : ''), h('td', { class: 'muted' }, Object.entries(e.details).filter(([k]) => k !== 'auth_session_id').map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ')))))),
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
      h('table', { id: 'sessions' }, h('tbody', {}, sessions.map((s) => h('tr', {},
        h('td', {}, s.user_agent || 'Unknown browser', s.current ? ' (this one)' : ''),
        h('td', {}, s.client_ip || ''),
        h('td', {}, `last seen ${when(s.last_seen_at)}`),
        h('td', {}, s.current ? '' : h('button', { class: 'danger', onclick: async () => { await api('DELETE', `/api/auth/sessions/${s.id}`); location.reload(); } }, 'Revoke')))))),
    );
  },

  async invite() {
    const token = new URLSearchParams(location.hash.slice(1)).get('token');
    if (!token) { render(h('h1', {}, 'Invitation'), message('This link has no invitation token.')); return; }
    const { user } = await me();
    navFor(user);
    const status = h('div');
    render(
      h('h1', {}, 'Invitation'),
      h('p', {}, `Accept as ${user.email}?`),
      h('button', { id: 'accept', onclick: async () => {
        try { const r = await api('POST', '/api/invitations/accept', { token }); location.href = `/orgs/${r.organization_id}`; } catch (err) { status.replaceChildren(message(err.message)); }
      } }, 'Accept invitation'),
      status,
    );
  },
};

(pages[page] || (() => render(message('Unknown page'))))().catch((err) => render(message(err.message)));
