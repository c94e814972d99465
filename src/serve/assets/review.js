// scamstage review page: parses a pasted or dropped chat with POST /v1/parse, scores it
// with POST /v1/score and shows the verdict, the stage timeline and the chat. Talks only to
// the server that served it; no framework, no build step.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const KEY = 'scamstage-api-key';
  const state = {
    file: null,          // a chosen or dropped File, preferred over the text
    convs: [],           // parsed conversations (dataset shape)
    senders: [],         // per conversation: [{name, user, messages}] under the automatic rule
    current: 0,          // index into convs
    verdict: null,       // the verdict on convs[current]
    info: null,          // GET /info: stages, default threshold
    me: '',              // chosen user sender; '' = automatic
    thresholdSet: false, // whether the slider was moved from the head's threshold
    seq: 0,              // answers to older requests are dropped
    retry: null,         // what to run again once an API key is given
    fill: null,          // while a long chat is being built: fill(i) builds it up to message i
  };

  class AuthNeeded extends Error {}
  class Refused extends Error {
    constructor(status, body) {
      super(body && body.error ? body.error : `HTTP ${status}`);
      this.status = status;
      this.body = body || {};
    }
  }

  /** Creates an element with text, attributes and children. */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') node.textContent = v;
      else if (k === 'class') node.className = v;
      else if (k === 'tint') node.style.setProperty('--tint', v);
      else node.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const human = (s) => String(s).replace(/_/g, ' ');
  const pct = (x) => `${Math.round(x * 100)} %`;
  const norm = (s) => String(s).trim().toLowerCase();
  const status = (text) => { $('status').textContent = text; };

  /** Calls the server; waits while the model loads; 401 raises AuthNeeded. */
  async function api(path, body, type) {
    for (let attempt = 0; ; attempt++) {
      const headers = {};
      if (type) headers['Content-Type'] = type;
      const key = sessionStorage.getItem(KEY);
      if (key) headers.Authorization = `Bearer ${key}`;
      const res = await fetch(path, { method: body === undefined ? 'GET' : 'POST', headers, body });
      let data = null;
      try { data = await res.json(); } catch (_) { /* not JSON */ }
      if (res.status === 401) throw new AuthNeeded();
      if (res.status === 503 && attempt < 180) {
        status('The model is still loading on the server…');
        await sleep(1000 * Math.min(5, Number(res.headers.get('Retry-After')) || 1));
        continue;
      }
      if (!res.ok) throw new Refused(res.status, data);
      return data;
    }
  }

  // ---- stages -------------------------------------------------------------------------

  /** The stage names in taxonomy order (from /info, else from a verdict's probabilities). */
  function stages() {
    if (state.info && state.info.labels && Array.isArray(state.info.labels.stages)) return state.info.labels.stages;
    const m = state.verdict && state.verdict.messages[0];
    return m ? Object.keys(m.probs) : [];
  }

  /** The colour of a stage: its position in the taxonomy picks one of the sheet's colours. */
  function tint(stage) {
    const i = stages().indexOf(stage);
    return `var(--s${i < 0 ? 8 : i % 9})`;
  }

  function chip(stage) {
    return el('span', { class: 'stage-chip', tint: tint(stage), text: human(stage) });
  }

  // ---- input --------------------------------------------------------------------------

  function showError(message, excerpt) {
    const box = $('chat-error');
    box.replaceChildren(message);
    if (excerpt) box.append(el('span', { class: 'excerpt', dir: 'auto', text: excerpt }));
    box.hidden = false;
    $('chat-text').setAttribute('aria-invalid', 'true');
  }

  function clearError() {
    $('chat-error').hidden = true;
    $('chat-error').replaceChildren();
    $('chat-text').removeAttribute('aria-invalid');
  }

  /** A refusal of the chat as one sentence naming the line and field, with the line's text. */
  function describe(err, source) {
    const b = err.body || {};
    const where = [];
    if (b.line) where.push(`line ${b.line}`);
    if (b.field) where.push(`field ${b.field}`);
    const place = where.length ? `${source}, ${where.join(', ')}: ` : '';
    let excerpt = null;
    if (b.line && !state.file) {
      const line = $('chat-text').value.split('\n')[b.line - 1];
      if (line !== undefined) excerpt = line.length > 160 ? `${line.slice(0, 160)}…` : line;
    }
    return [`${place}${err.message}`, excerpt];
  }

  function setFile(file) {
    state.file = file;
    $('file-name').hidden = !file;
    $('file-clear').hidden = !file;
    $('file-name').textContent = file ? `Reviewing the file ${file.name} (${Math.ceil(file.size / 1024)} KiB) instead of the text.` : '';
    if (!file) $('chat-file').value = '';
  }

  function askForKey(again, retry) {
    state.retry = retry;
    $('key-form').hidden = false;
    $('key-error').hidden = !again;
    $('key-error').textContent = again ? 'The server refused this key.' : '';
    status('This server needs its API key to read and score chats.');
    $('api-key').focus();
  }

  function failed(err, retry) {
    if (err instanceof AuthNeeded) {
      const had = sessionStorage.getItem(KEY) !== null;
      sessionStorage.removeItem(KEY);
      askForKey(had, retry);
    } else if (err instanceof Refused) {
      if (err.status === 429) status(`The server is busy: ${err.message}`);
      else status('');
      return err;
    } else {
      status(`Could not reach the server: ${err.message}`);
    }
    return null;
  }

  async function review() {
    clearError();
    const text = $('chat-text').value;
    if (!state.file && !text.trim()) {
      showError('Paste a chat or choose a file first.');
      $('chat-text').focus();
      return;
    }
    const source = state.file ? state.file.name : 'pasted';
    const button = $('review-button');
    button.disabled = true;
    status('Reading the chat…');
    try {
      const parsed = await api(`/v1/parse?${new URLSearchParams({ name: source })}`, state.file || text, 'text/plain; charset=utf-8');
      if (!state.info) state.info = await api('/info');
      state.convs = parsed.conversations;
      state.senders = parsed.senders;
      state.current = 0;
      resetControls();
      await rescore(true);
    } catch (err) {
      const refused = failed(err, review);
      if (refused) {
        const [message, excerpt] = describe(refused, source);
        showError(message, excerpt);
        // The verdict shown was on another chat: hide it rather than let it pass for this one.
        state.verdict = null;
        state.fill = null;
        $('results').hidden = true;
      }
    } finally {
      button.disabled = false;
    }
  }

  // ---- controls -----------------------------------------------------------------------

  function resetControls() {
    state.me = '';
    state.thresholdSet = false;
    const t = $('threshold');
    t.value = state.info.threshold;
    $('threshold-value').textContent = Number(t.value).toFixed(2);
    const convSelect = $('conv-select');
    convSelect.replaceChildren(...state.convs.map((c, i) => el('option', { value: i, text: `${c.id} (${c.messages.length} messages)` })));
    $('conv-control').hidden = state.convs.length < 2;
    fillSenders();
  }

  function fillSenders() {
    const senders = state.senders[state.current] || [];
    const users = senders.filter((s) => s.user).map((s) => s.name);
    const select = $('me-select');
    select.replaceChildren(
      el('option', { value: '', text: `Automatic: ${users.join(', ') || 'nobody'}` }),
      ...senders.map((s) => el('option', { value: s.name, text: `${s.name} (${s.messages} messages)` })),
    );
    select.value = state.me;
  }

  function threshold() {
    return state.thresholdSet ? Number($('threshold').value) : state.info.threshold;
  }

  /** User Timing marks of the latest scoring, for the browser's performance panel and the
   *  page's test: `scamstage:request`; `:response` once the answer is read; `:rendered` once
   *  the verdict, timeline and first messages are in the DOM; `:painted` a frame later;
   *  `:complete` once every message is. */
  const MARKS = ['request', 'response', 'rendered', 'painted', 'complete'].map((m) => `scamstage:${m}`);
  function mark(i) {
    if (i === 0) MARKS.forEach((m) => performance.clearMarks(m));
    performance.mark(MARKS[i]);
  }

  async function rescore(first) {
    const conv = state.convs[state.current];
    const params = new URLSearchParams();
    if (state.thresholdSet) params.set('threshold', $('threshold').value);
    if (state.me) params.set('me', state.me);
    const seq = ++state.seq;
    status(`Scoring ${conv.messages.length} messages…`);
    $('results').setAttribute('aria-busy', 'true');
    try {
      mark(0);
      const verdict = await api(`/v1/score?${params}`, JSON.stringify(conv), 'application/json');
      if (seq !== state.seq) return;
      mark(1);
      state.verdict = verdict;
      render(conv, verdict, () => { if (seq === state.seq) mark(4); });
      mark(2);
      requestAnimationFrame(() => setTimeout(() => { if (seq === state.seq) mark(3); }));
      status(`Reviewed ${conv.messages.length} messages of ${conv.id}.`);
      if (first) $('verdict-h').focus();
    } finally {
      if (seq === state.seq) $('results').removeAttribute('aria-busy');
    }
  }

  async function rescoreSafely() {
    try {
      await rescore(false);
    } catch (err) {
      const refused = failed(err, rescoreSafely);
      if (refused) status(`Could not score: ${refused.message}`);
    }
  }

  function exportVerdict() {
    const v = state.verdict;
    if (!v) return;
    const blob = new Blob([`${JSON.stringify(v, null, 2)}\n`], { type: 'application/json' });
    const a = el('a', { href: URL.createObjectURL(blob), download: `${String(v.id).replace(/[^\w.-]+/g, '_') || 'verdict'}.verdict.json` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    status(`Exported the verdict on ${v.id}.`);
  }

  // ---- rendering ----------------------------------------------------------------------

  function jump(index) {
    if (state.fill) state.fill(index);
    const target = $(`msg-${index}`);
    if (!target) return;
    target.scrollIntoView({ block: 'center' });
    target.focus({ preventScroll: true });
  }

  function jumpLink(index, label) {
    const a = el('a', { href: `#msg-${index}`, text: label });
    a.addEventListener('click', (e) => { e.preventDefault(); jump(index); });
    return a;
  }

  function renderVerdict(conv, v) {
    const t = threshold();
    const fact = (term, ...value) => el('div', {}, el('dt', { text: term }), el('dd', {}, ...value));
    const bar = el('span');
    bar.style.width = pct(v.risk).replace(' ', '');
    $('verdict').className = `card verdict ${v.scam ? 'is-scam' : 'is-clear'}`;
    $('verdict').replaceChildren(
      el('h2', { id: 'verdict-h', tabindex: '-1', text: v.scam ? `Scam, flagged at threshold ${t.toFixed(2)}` : `Not flagged at threshold ${t.toFixed(2)}` }),
      el('dl', { class: 'facts' },
        fact('Risk', el('span', { id: 'risk', text: v.risk.toFixed(2) }), el('div', { class: 'riskbar', role: 'img', 'aria-label': `risk ${pct(v.risk)}` }, bar)),
        fact('Scam type', el('span', { id: 'scam-type', 'data-value': v.scam_type, text: human(v.scam_type) })),
        fact('Furthest stage', el('span', { id: 'stage', 'data-value': v.stage }, chip(v.stage))),
        fact('First flagged at', v.first_flag === null || v.first_flag === undefined
          ? el('span', { id: 'first-flag', text: 'never' })
          : el('span', { id: 'first-flag', 'data-value': v.first_flag }, jumpLink(v.first_flag, `message #${v.first_flag}`))),
        fact('Conversation', el('span', { dir: 'auto', text: `${conv.id}${conv.lang ? ` (${conv.lang})` : ''}, ${conv.messages.length} messages` })),
      ),
    );
  }

  /** Runs of equal decoded stages as {stage, first, last}. */
  function runs(messages) {
    const out = [];
    for (const m of messages) {
      const last = out[out.length - 1];
      if (last && last.stage === m.stage) last.last = m.index;
      else out.push({ stage: m.stage, first: m.index, last: m.index });
    }
    return out;
  }

  function renderTimeline(v) {
    const segments = runs(v.messages).map((r) => {
      const span = r.first === r.last ? `message #${r.first}` : `messages #${r.first}–${r.last}`;
      const a = el('a', { href: `#msg-${r.first}`, class: 'seg', tint: tint(r.stage), 'data-stage': r.stage, 'data-first': r.first, title: `${human(r.stage)}: ${span}`, 'aria-label': `${human(r.stage)}, ${span}` },
        el('span', { 'aria-hidden': 'true', text: `${human(r.stage)} ${r.first === r.last ? `#${r.first}` : `#${r.first}–${r.last}`}` }));
      a.style.flexGrow = String(r.last - r.first + 1);
      a.addEventListener('click', (e) => { e.preventDefault(); jump(r.first); });
      return a;
    });
    $('timeline').replaceChildren(...segments);
    const present = new Set(v.messages.map((m) => m.stage));
    $('legend').replaceChildren(...stages().filter((s) => present.has(s)).map((s) => el('li', { tint: tint(s), text: human(s) })));
  }

  function probabilities(probs, stage) {
    const rows = [];
    for (const [name, p] of Object.entries(probs)) {
      const bar = el('span');
      bar.style.width = `${(p * 100).toFixed(1)}%`;
      rows.push(el('span', { text: human(name) + (name === stage ? ' (decoded)' : '') }),
        el('span', { class: 'bar', tint: tint(name), 'aria-hidden': 'true' }, bar),
        el('span', { class: 'v', text: p.toFixed(2) }));
    }
    return el('div', { class: 'probs' }, ...rows);
  }

  /** Messages built with the verdict; the rest of a long chat (up to the server's 2,000) follow
   *  in slices of `SLICE`, one task each, so that the verdict shows at once and the page keeps
   *  answering input while the chat is built: laying out every message of a long chat in one
   *  task blocked the page for most of a second. */
  const FIRST = 60;
  const SLICE = 120;

  function renderChat(conv, v, done) {
    const evidence = new Map(v.evidence.map((e) => [e.index, e]));
    const users = new Set((state.senders[state.current] || []).filter((s) => s.user).map((s) => s.name));
    const isUser = (sender) => (state.me ? norm(sender) === norm(state.me) : users.has(sender));
    const message = (i) => {
      const m = conv.messages[i];
      const s = v.messages[i];
      const ev = evidence.get(i);
      const user = isUser(m.sender);
      const details = el('details', {}, el('summary', { text: 'Stage probabilities' }));
      details.addEventListener('toggle', () => {
        if (details.open && details.childElementCount === 1) details.append(probabilities(s.probs, s.stage));
      });
      return el('li', {
        id: `msg-${i}`, class: `msg ${user ? 'user' : 'them'}${ev ? ' evidence' : ''}`, tabindex: '-1',
        tint: tint(s.stage), 'data-stage': s.stage, 'aria-label': `message ${i}, ${user ? 'user' : 'other party'}, stage ${human(s.stage)}${ev ? ', evidence' : ''}`,
      },
      el('div', { class: 'meta' },
        el('span', { class: 'sender', dir: 'auto', text: m.sender }),
        el('span', { text: `#${i}` }),
        m.ts ? el('span', { dir: 'auto', text: m.ts }) : null,
        el('span', { text: user ? 'user' : 'other party' })),
      el('p', { class: 'text', dir: 'auto', text: m.text }),
      el('div', { class: 'tags' },
        chip(s.stage),
        ev ? el('span', { class: 'mark ev', text: `★ evidence: ${human(ev.stage)} ${ev.score.toFixed(2)}` }) : null,
        v.first_flag === i ? el('span', { class: 'mark flag', text: '⚑ first flagged here' }) : null),
      details);
    };
    const list = $('chat');
    list.lang = conv.lang || '';
    const total = conv.messages.length;
    let next = 0;
    /** Appends the messages up to index `last` as one fragment. */
    const append = (last) => {
      const frag = document.createDocumentFragment();
      const end = Math.min(total, last + 1);
      for (; next < end; next++) frag.append(message(next));
      list.append(frag);
      if (next < total) return;
      state.fill = null;
      list.removeAttribute('aria-busy');
      done();
    };
    // A newer render supersedes this one: its pending slices stop.
    const fill = (last) => { if (state.fill === fill && next < total) append(last); };
    const more = () => {
      fill(next + SLICE - 1);
      if (state.fill === fill) setTimeout(more);
    };
    state.fill = fill;
    list.replaceChildren();
    list.setAttribute('aria-busy', 'true');
    append(Math.min(FIRST, total) - 1);
    if (state.fill === fill) setTimeout(more);
  }

  function render(conv, v, done) {
    $('results').hidden = false;
    renderVerdict(conv, v);
    renderTimeline(v);
    renderChat(conv, v, done);
  }

  // ---- wiring -------------------------------------------------------------------------

  document.addEventListener('DOMContentLoaded', () => {
    $('chat-form').addEventListener('submit', (e) => { e.preventDefault(); review(); });
    $('chat-text').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); review(); }
    });
    $('chat-text').addEventListener('input', () => { if (state.file) setFile(null); });
    $('chat-file').addEventListener('change', (e) => setFile(e.target.files[0] || null));
    $('file-clear').addEventListener('click', () => { setFile(null); $('chat-file').focus(); });

    const panel = $('input-panel');
    panel.addEventListener('dragover', (e) => { e.preventDefault(); panel.classList.add('dragging'); });
    panel.addEventListener('dragleave', (e) => { if (!panel.contains(e.relatedTarget)) panel.classList.remove('dragging'); });
    panel.addEventListener('drop', (e) => {
      e.preventDefault();
      panel.classList.remove('dragging');
      const file = e.dataTransfer.files && e.dataTransfer.files[0];
      if (file) setFile(file);
      else if (e.dataTransfer.getData('text')) { $('chat-text').value = e.dataTransfer.getData('text'); setFile(null); }
    });

    $('key-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const key = $('api-key').value.trim();
      if (!key) { $('api-key').focus(); return; }
      sessionStorage.setItem(KEY, key);
      $('api-key').value = '';
      $('key-form').hidden = true;
      const retry = state.retry;
      state.retry = null;
      if (retry) retry();
    });

    $('threshold').addEventListener('input', (e) => { $('threshold-value').textContent = Number(e.target.value).toFixed(2); });
    $('threshold').addEventListener('change', () => { state.thresholdSet = true; rescoreSafely(); });
    $('me-select').addEventListener('change', (e) => { state.me = e.target.value; rescoreSafely(); });
    $('conv-select').addEventListener('change', (e) => {
      state.current = Number(e.target.value);
      state.me = '';
      fillSenders();
      rescoreSafely();
    });
    $('export').addEventListener('click', exportVerdict);
  });
})();
