// The recording room: device check, join over WebSocket signalling, send mic (and camera),
// receive everyone else, host controls. Bundled with mediasoup-client by esbuild into
// server/web/static/room.bundle.js (see server/web/bundle.ts).
import { Device } from 'mediasoup-client';

const $ = (id) => document.getElementById(id);
const body = document.body.dataset;
const state = {
  ws: null,
  nextId: 1,
  pending: new Map(),
  device: null,
  sendTransport: null,
  recvTransport: null,
  stream: null,
  peers: new Map(),
  role: null,
  recording: false,
};

function csrf() {
  const m = document.cookie.match(/(?:^|;\s*)csrf_token=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : '';
}

async function api(method, path, data) {
  const res = await fetch(path, {
    method,
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf() },
    body: data ? JSON.stringify(data) : undefined,
    credentials: 'same-origin',
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((json.error && json.error.message) || `Request failed (${res.status})`);
  return json;
}

function setStatus(text, cls = 'muted') {
  const el = $('status');
  el.className = cls;
  el.textContent = text;
}

function request(method, data = {}) {
  return new Promise((resolve, reject) => {
    const id = state.nextId++;
    state.pending.set(id, { resolve, reject });
    state.ws.send(JSON.stringify({ id, method, data }));
  });
}

function renderPeers() {
  const list = $('peers');
  list.replaceChildren(
    ...[...state.peers.values()].map((p) => {
      const li = document.createElement('li');
      li.dataset.peer = p.id;
      li.textContent = `${p.displayName}${p.role === 'host' ? ' (host)' : ''}`;
      return li;
    }),
  );
}

function renderRecording() {
  const ind = $('rec-indicator');
  ind.hidden = !state.recording;
  ind.textContent = state.recording ? '● Recording' : '';
  document.body.classList.toggle('recording', state.recording);
  if (state.role === 'host') {
    $('start-rec').disabled = state.recording;
    $('stop-rec').disabled = !state.recording;
  }
}

async function onNotification(method, data) {
  switch (method) {
    case 'peerJoined':
      state.peers.set(data.peer.id, data.peer);
      renderPeers();
      break;
    case 'peerLeft':
      state.peers.delete(data.peerId);
      renderPeers();
      break;
    case 'recordingState':
      state.recording = data.recording;
      renderRecording();
      break;
    case 'sessionEnded':
      setStatus('The host ended the session. Thank you!', 'ok');
      leave();
      break;
    case 'sessionInterrupted':
      setStatus('The session was interrupted; please rejoin.', 'error');
      leave();
      break;
    case 'newConsumer': {
      const consumer = await state.recvTransport.consume({
        id: data.consumerId,
        producerId: data.producerId,
        kind: data.kind,
        rtpParameters: data.rtpParameters,
      });
      const el = document.createElement(data.kind === 'audio' ? 'audio' : 'video');
      el.autoplay = true;
      el.playsInline = true;
      el.dataset.consumer = data.consumerId;
      el.dataset.peer = data.peerId;
      el.srcObject = new MediaStream([consumer.track]);
      $('remote').append(el);
      await request('resumeConsumer', { consumerId: data.consumerId });
      break;
    }
    case 'consumerClosed':
      document.querySelector(`[data-consumer="${data.consumerId}"]`)?.remove();
      break;
  }
}

function leave() {
  state.ws?.close();
  state.stream?.getTracks().forEach((t) => t.stop());
  $('controls').hidden = true;
}

async function pickDevices() {
  // Permission first, so device labels are visible.
  const probe = await navigator.mediaDevices
    .getUserMedia({ audio: true, video: true })
    .catch(() => navigator.mediaDevices.getUserMedia({ audio: true }));
  probe.getTracks().forEach((t) => t.stop());
  const devices = await navigator.mediaDevices.enumerateDevices();
  const fill = (sel, kind, none) => {
    sel.replaceChildren(
      ...(none ? [new Option('No camera', '')] : []),
      ...devices.filter((d) => d.kind === kind).map((d, i) => new Option(d.label || `${kind} ${i + 1}`, d.deviceId)),
    );
  };
  fill($('mic'), 'audioinput', false);
  fill($('cam'), 'videoinput', true);
  if ($('cam').options.length > 1) $('cam').selectedIndex = 1;
}

async function join(joinInfo) {
  const cam = $('cam').value;
  // A recording keeps the voice as it was said: no automatic gain or noise suppression
  // reshaping it (echo cancellation stays on for people without headphones).
  state.stream = await navigator.mediaDevices.getUserMedia({
    audio: {
      deviceId: $('mic').value ? { exact: $('mic').value } : undefined,
      echoCancellation: true,
      autoGainControl: false,
      noiseSuppression: false,
    },
    video: cam ? { deviceId: { exact: cam }, width: 640, height: 360 } : false,
  });
  $('preview').srcObject = new MediaStream(state.stream.getVideoTracks());
  const url = joinInfo.sfu_url || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sfu`;
  state.ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    state.ws.onopen = resolve;
    state.ws.onerror = () => reject(new Error('Cannot reach the media server.'));
  });
  state.ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.notification) {
      onNotification(msg.notification, msg.data).catch((e) => setStatus(e.message, 'error'));
      return;
    }
    const p = state.pending.get(msg.id);
    if (!p) return;
    state.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.data);
    else p.reject(new Error(msg.error.message));
  };
  state.ws.onclose = () => {
    for (const p of state.pending.values()) p.reject(new Error('disconnected'));
    state.pending.clear();
  };
  const joined = await request('join', { token: joinInfo.token });
  state.role = joined.role;
  for (const p of joined.peers) state.peers.set(p.id, p);
  state.peers.set(joined.peerId, { id: joined.peerId, displayName: joinInfo.display_name || 'You', role: joined.role });
  renderPeers();
  state.recording = !!joined.recording;
  state.device = new Device();
  await state.device.load({ routerRtpCapabilities: joined.routerRtpCapabilities });
  await request('setRtpCapabilities', { rtpCapabilities: state.device.rtpCapabilities });

  const sendInfo = await request('createTransport', { direction: 'send' });
  state.sendTransport = state.device.createSendTransport(sendInfo);
  state.sendTransport.on('connect', ({ dtlsParameters }, ok, fail) =>
    request('connectTransport', { transportId: state.sendTransport.id, dtlsParameters }).then(ok, fail),
  );
  state.sendTransport.on('produce', ({ kind, rtpParameters }, ok, fail) =>
    request('produce', { transportId: state.sendTransport.id, kind, rtpParameters }).then(ok, fail),
  );
  const recvInfo = await request('createTransport', { direction: 'recv' });
  state.recvTransport = state.device.createRecvTransport(recvInfo);
  state.recvTransport.on('connect', ({ dtlsParameters }, ok, fail) =>
    request('connectTransport', { transportId: state.recvTransport.id, dtlsParameters }).then(ok, fail),
  );
  for (const track of state.stream.getTracks())
    await state.sendTransport.produce({
      track,
      ...(track.kind === 'audio' ? { codecOptions: { opusStereo: false, opusDtx: false } } : {}),
    });

  $('setup').hidden = true;
  $('controls').hidden = false;
  $('host-controls').hidden = state.role !== 'host';
  renderRecording();
  setStatus(`Connected as ${state.role}.`, 'ok');
  document.body.dataset.joined = 'true';
}

function hostControls() {
  const act = (method) => async () => {
    try {
      await request(method);
    } catch (e) {
      setStatus(e.message, 'error');
    }
  };
  $('start-rec').onclick = act('startRecording');
  $('stop-rec').onclick = act('stopRecording');
  $('end').onclick = async () => {
    if (!window.confirm || body.noconfirm || window.confirm('End the session for everyone?')) await act('endSession')();
  };
  $('leave').onclick = () => {
    leave();
    setStatus('You left the session.');
  };
}

async function main() {
  hostControls();
  try {
    await pickDevices();
  } catch (e) {
    setStatus(`Microphone unavailable: ${e.message}`, 'error');
    return;
  }
  $('setup').hidden = false;
  const guest = body.mode === 'guest';
  $('name-row').hidden = !guest;
  $('join').onclick = async () => {
    $('join').disabled = true;
    try {
      let info;
      if (guest) {
        const token = new URLSearchParams(location.hash.slice(1)).get('g');
        const name = $('display-name').value.trim();
        if (!name) throw new Error('Enter your name first.');
        info = await api('POST', '/api/join', { session_id: body.session, token, display_name: name });
        info.display_name = name;
      } else {
        info = await api('POST', `/api/orgs/${body.org}/sessions/${body.session}/join`, {});
      }
      $('title').textContent = info.title;
      await join(info);
    } catch (e) {
      setStatus(e.message, 'error');
      $('join').disabled = false;
    }
  };
}

main();
