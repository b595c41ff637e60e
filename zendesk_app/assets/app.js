/*
 * Guidepost — Zendesk ticket sidebar (ZAF v2). Plain browser JavaScript, no bundler.
 *
 * Rules this file keeps:
 *  - Every value that comes from the ticket, the backend or the user is put into the page
 *    with textContent / createTextNode; nothing is ever parsed as HTML.
 *  - The backend is called only through client.request() (cors: false) with the Guidepost
 *    session the backend minted after checking Zendesk's signed app token; nothing the
 *    browser could choose is trusted by the backend.
 *  - The app shows the decision the backend made; it never decides itself.
 *  - Guidance follows the open form (unsaved edits, POST …/guidance); Apply writes the saved
 *    ticket only, so it is offered only while the form holds no unsaved guide field.
 */
(function (parts) {
  'use strict';

  var FORM_DEBOUNCE_MS = 120;
  var FEEDBACK_MS = 6000;
  var ui = parts.ui;
  // when field change events arrived and when the form's guidance was shown (the benchmark)
  parts.timing = { changes: [], rendered: [] };

  var state = parts.state = {
    client: null,
    settings: {},
    ticketId: null,
    locale: 'ko',
    strings: {},
    agentName: '',
    guides: null, // GET /v1/guides
    guidance: null, // the decision shown: saved (GET) or the open form's (POST)
    savedGuidance: null, // the last GET answer
    error: null, // classified error of the last load
    loading: false,
    seq: 0, // guards against out-of-order answers
    apply: { phase: 'idle', result: null, error: null }, // idle | confirm | busy | done | failed
    savedForm: null, // field id -> value as saved (the form when it was last clean)
    form: null, // the last read of the open form
    dirty: false, // the form holds unsaved values of guide fields
    edited: {}, // field id -> true: the agent changed it since the last Submit
    formTimer: null,
    lastChange: 0, // when the last field change event arrived
    place: { rest: false, checks: false, fetched: false, active: null }, // kept across reloads
    graph: { key: null, phase: 'idle', open: false }, // the guide picture: idle | loading | shown | failed
    edits: {}, // text key -> the agent's edited body
    session: null, // {token, expiresAt}: Guidepost session from the signed-URL entry
    sessionRefresh: null,
    sessionTimer: null,
    sessionSeen: false, // a session came from the signed URL at least once
    savedSeq: 0, // the latest GET (saved ticket) asked: older answers write nothing
    formPending: false, // a field changed and the form is not read yet: Apply waits
    composing: false, // an IME composition is under way: renders wait for its end
    renderDeferred: false,
    lastHeight: 0
  };

  // ---------------------------------------------------------------- backend calls

  // Zendesk vouches for the agent: it posts its signed app token to the app's signed URL;
  // the backend checks it and sends the page here with a short-lived Guidepost session in
  // the URL fragment (never sent to any server). The browser never builds a token.
  //
  // The session is renewed at half its lifetime (a timer, and whenever the app is shown
  // again: app.activated, visibilitychange), counted on this PC's clock from the lifetime
  // the backend sends (gp_expires_in / expires_in), so a PC clock that is off does not
  // matter. Once it has really run out only Zendesk can vouch again: reloading the apps
  // (app.registered "also fires when the app is reloaded, such as when the agent clicks
  // the Reload All Apps button") posts a new signed token.
  var SESSION_REFRESH_AT = 0.5; // of the lifetime
  var SESSION_RETRY_S = 30; // a failed renewal is tried again this much later

  function sessionFailure() {
    // No session ever came from the signed URL: Zendesk's vouching was refused (unauthorized);
    // a session that ran out: expired.
    var slug = state.sessionSeen ? 'session-expired' : 'unauthorized';
    return {
      status: 401,
      responseText: JSON.stringify({
        type: 'https://guidepost.dev/problems/' + slug,
        title: slug === 'unauthorized' ? 'Unauthorized' : 'Session expired',
        status: 401
      })
    };
  }

  function nowS() { return Date.now() / 1000; }

  // {token, expiresAt, refreshAt} on this PC's clock. `expiresIn` is the lifetime the
  // backend sent; an answer without it falls back to its absolute `expiresAt`.
  function sessionFrom(token, expiresIn, expiresAt) {
    var now = nowS();
    var left = Number(expiresIn);
    if (!(left > 0)) { left = Number(expiresAt) - now; }
    return { token: token, expiresAt: now + left, refreshAt: now + left * SESSION_REFRESH_AT };
  }

  function loadSession() {
    if (state.session) { return state.session; }
    var hash = String(window.location.hash || '').replace(/^#/, '');
    var params = new URLSearchParams(hash);
    var token = params.get('gp_session');
    var expiresIn = params.get('gp_expires_in');
    var expires = Number(params.get('gp_expires'));
    if (token && (Number(expiresIn) > 0 || expires > 0)) {
      state.session = sessionFrom(token, expiresIn, expires);
      state.sessionSeen = true;
      if (window.history && window.history.replaceState) {
        // Keep the token out of history and out of any later copy of the URL.
        window.history.replaceState(null, '', window.location.pathname + window.location.search);
      }
      scheduleSessionRefresh(state.session.refreshAt - nowS());
    }
    return state.session || null;
  }

  function scheduleSessionRefresh(seconds) {
    window.clearTimeout(state.sessionTimer);
    state.sessionTimer = window.setTimeout(function () {
      refreshSession().catch(function () { /* handled in refreshSession */ });
    }, Math.max(1, seconds) * 1000);
  }

  function sessionExpired() {
    return !!state.session && nowS() >= state.session.expiresAt;
  }

  // The session ran out: say so at once (the guidance on screen stays), no request.
  function showSessionExpired() {
    window.clearTimeout(state.sessionTimer);
    if (state.ticketId === null || !state.strings.ui) { return; }
    if (state.error && state.error.kind === 'session_expired') { return; }
    state.error = parts.problems.classify(sessionFailure());
    ui.renderCurrent();
  }

  function refreshSession() {
    var session = state.session;
    if (!session) { return Promise.reject(sessionFailure()); }
    if (sessionExpired()) {
      showSessionExpired();
      return Promise.reject(sessionFailure());
    }
    if (!state.sessionRefresh) {
      state.sessionRefresh = sendWithSession('/v1/session/refresh', 'POST', {}, session.token)
        .then(function (answer) {
          state.session = sessionFrom(answer.session_token, answer.expires_in, answer.expires_at);
          scheduleSessionRefresh(state.session.refreshAt - nowS());
          return state.session;
        }, function (err) {
          if (err && err.status === 401) {
            // refused for good (expired, or past the maximum age): Zendesk must vouch again
            state.session.expiresAt = Math.min(state.session.expiresAt, nowS());
            showSessionExpired();
          } else {
            scheduleSessionRefresh(Math.min(SESSION_RETRY_S, (session.expiresAt - nowS()) / 2));
          }
          throw err;
        })
        .finally(function () { state.sessionRefresh = null; });
    }
    return state.sessionRefresh;
  }

  // The app is shown again (another ticket tab, the PC woke up): renew if it is time.
  function onShown() {
    if (!state.session) { return; }
    if (sessionExpired()) { showSessionExpired(); return; }
    if (nowS() >= state.session.refreshAt) {
      refreshSession().catch(function () { /* handled in refreshSession */ });
    }
  }

  function sendWithSession(path, method, body, token, dataType) {
    var base = String(state.settings.backend_url || '').replace(/\/+$/, '');
    var options = {
      url: base + path,
      type: method,
      contentType: 'application/json',
      dataType: dataType || 'json',
      cors: false,
      headers: { Authorization: 'Bearer ' + token }
    };
    if (body !== undefined) { options.data = JSON.stringify(body); }
    return state.client.request(options).then(function (data) {
      if (options.dataType !== 'json') { return data; }
      return typeof data === 'string' && data ? JSON.parse(data) : data;
    });
  }

  function ensureSession() {
    var session = loadSession();
    if (!session) { return Promise.reject(sessionFailure()); }
    if (sessionExpired()) { return Promise.reject(sessionFailure()); }
    if (nowS() < session.refreshAt) { return Promise.resolve(session); }
    // Past half its life: renew first; if renewing fails for now, the session still works.
    return refreshSession().catch(function (err) {
      if (sessionExpired()) { throw err; }
      return state.session;
    });
  }

  function backend(path, method, body, dataType) {
    return ensureSession().then(function (session) {
      return sendWithSession(path, method, body, session.token, dataType);
    });
  }

  function ticketPath(suffix) {
    return '/v1/tickets/' + encodeURIComponent(state.ticketId) + suffix;
  }

  // ---------------------------------------------------------------- the open form

  function fieldIds() {
    var map = (state.guides && state.guides.field_map) || {};
    return Object.keys(map).map(function (key) { return map[key]; });
  }

  function normalize(value) {
    return value === '' || value === undefined ? null : value;
  }

  // Read the form as it is now (unsaved values included): one ZAF get.
  function readForm() {
    var ids = fieldIds();
    var paths = ids.map(function (id) { return 'ticket.customField:custom_field_' + id; });
    return state.client.get(paths.concat(['ticket.tags', 'ticket.subject', 'ticket.description', 'ticket.createdAt']))
      .then(function (data) {
        var fields = {};
        ids.forEach(function (id, i) { fields[id] = normalize(data[paths[i]]); });
        return {
          fields: fields,
          tags: Array.isArray(data['ticket.tags']) ? data['ticket.tags'].map(String) : [],
          subject: typeof data['ticket.subject'] === 'string' ? data['ticket.subject'] : null,
          description: typeof data['ticket.description'] === 'string' ? data['ticket.description'] : null,
          createdAt: typeof data['ticket.createdAt'] === 'string' ? data['ticket.createdAt'] : null
        };
      });
  }

  function differs(form, saved) {
    if (!form || !saved) { return false; }
    return Object.keys(form.fields).some(function (id) {
      return String(normalize(form.fields[id])) !== String(normalize(saved[id]));
    });
  }

  function formBody(form) {
    return {
      custom_fields: Object.keys(form.fields).map(function (id) {
        return { id: Number(id), value: form.fields[id] };
      }),
      tags: form.tags,
      subject: form.subject,
      description: form.description,
      created_at: form.createdAt || null
    };
  }

  // ---------------------------------------------------------------- loading

  function loadGuides() {
    if (state.guides) { return Promise.resolve(state.guides); }
    return backend('/v1/guides', 'GET').then(function (guides) {
      state.guides = guides;
      subscribeFieldEvents();
      return guides;
    });
  }

  function begin() {
    state.loading = true;
    state.error = null;
    if (state.guidance) { ui.renderCurrent(); } else { ui.renderStatus(ui.t('loading')); }
    return ++state.seq;
  }

  function settle(seq, guidance, error) {
    if (seq !== state.seq) { return false; }
    state.loading = false;
    var previous = state.guidance;
    state.guidance = guidance;
    state.error = error;
    state.apply = keptApply(previous, guidance);
    ui.renderCurrent();
    ui.restorePlace();
    return true;
  }

  // What of the apply bar outlives a new answer: an apply in flight always (its answer is
  // matched to its own attempt); the open confirm panel while the decision it shows (branch
  // and fingerprint) is unchanged and the form saved; a result while the branch is the same.
  function keptApply(previous, guidance) {
    var apply = state.apply;
    if (apply.phase === 'busy') { return apply; }
    var same = !!(guidance && previous && previous.branch === guidance.branch);
    if (apply.phase === 'done' && same) { return apply; }
    if (apply.phase === 'confirm' && same && !state.dirty && guidance.source !== 'form' &&
        (previous.fingerprint || null) === (guidance.fingerprint || null)) {
      return apply;
    }
    return { phase: 'idle', result: null, error: null };
  }

  // Which form values count as saved: all but the fields the agent edited since Submit
  // (those keep the value saved before the edit).
  function savedValues(form) {
    var before = state.savedForm || {};
    var next = {};
    Object.keys(form.fields).forEach(function (id) {
      next[id] = state.edited[id] && state.savedForm ? before[id] : form.fields[id];
    });
    return next;
  }

  // The saved ticket's guidance (GET): on open, after Submit, after someone else's write,
  // on Reload.
  function loadSaved() {
    var seq = begin();
    var asked = ++state.savedSeq;
    return loadGuides().then(function () {
      return Promise.all([backend(ticketPath('/guidance'), 'GET'), readForm()]);
    }).then(function (results) {
      // A later GET speaks for the saved ticket: an older answer writes nothing.
      if (asked !== state.savedSeq) { return null; }
      var guidance = results[0];
      var form = results[1];
      state.savedGuidance = guidance;
      state.savedForm = savedValues(form);
      if (seq !== state.seq) { return null; } // a later load (the open form) is what shows
      state.form = form;
      state.dirty = differs(form, state.savedForm);
      if (state.dirty) { return loadFromForm(form, seq); }
      settle(seq, guidance, null);
      return followUps(guidance, form);
    }, function (err) {
      settle(seq, state.guidance, parts.problems.classify(err));
    });
  }

  // The open form's guidance (POST), or the saved one again when the form is back to it.
  function loadFromForm(form, seq) {
    // Dirty is known before anything renders: Apply never looks usable for an unsaved form.
    state.form = form;
    state.dirty = differs(form, state.savedForm);
    state.formPending = false;
    seq = seq || begin();
    if (!state.dirty && state.savedGuidance) {
      settle(seq, state.savedGuidance, null);
      return Promise.resolve();
    }
    var body = formBody(form);
    var key = JSON.stringify(body);
    if (key === state.lastAsked && state.guidance && state.guidance.source === 'form') {
      settle(seq, state.guidance, null); // a burst's tail that changed nothing: no request
      return Promise.resolve();
    }
    state.lastAsked = key;
    return backend(ticketPath('/guidance'), 'POST', body).then(function (guidance) {
      if (settle(seq, guidance, null)) { parts.timing.rendered.push(Date.now()); }
    }, function (err) {
      state.lastAsked = null;
      settle(seq, state.guidance, parts.problems.classify(err));
    });
  }

  // What a GET answer lacks and the form answer names: earlier 강콜 tickets, 상담유형 values.
  function followUps(guidance, form) {
    var needsHistory = guidance.prior_reconnections > 0 && !guidance.prior_reconnection_tickets;
    var needsTypes = guidance.suggested && !guidance.suggested_consult_types;
    if (!needsHistory && !needsTypes) { return Promise.resolve(); }
    return backend(ticketPath('/guidance'), 'POST', formBody(form)).then(function (extra) {
      if (state.guidance !== guidance) { return; }
      guidance.prior_reconnection_tickets = extra.prior_reconnection_tickets || [];
      guidance.suggested_consult_types = extra.suggested_consult_types || [];
      ui.renderCurrent();
    }, function () { /* the count and the notice still show */ });
  }

  function askForm() {
    readForm().then(function (form) { return loadFromForm(form); }, function () {
      state.formPending = false;
      ui.renderCurrent();
    });
  }

  // A field changed and the form is not read yet: Apply (which writes the saved ticket)
  // waits until the app knows whether the form still matches it.
  function holdApply() {
    state.formPending = true;
    document.querySelectorAll('[data-action="apply"], [data-action="apply-confirm"]').forEach(function (b) {
      b.disabled = true;
    });
  }

  // Debounced on both edges: a lone edit is asked at once; a burst (typing, a macro setting
  // several fields) waits until it has been quiet for FORM_DEBOUNCE_MS, then asks once.
  function onFieldChanged(fieldId) {
    if (state.ticketId === null) { return; }
    if (fieldId !== undefined) { state.edited[fieldId] = true; }
    holdApply();
    var now = Date.now();
    parts.timing.changes.push(now);
    var quiet = now - (state.lastChange || 0) >= FORM_DEBOUNCE_MS;
    state.lastChange = now;
    window.clearTimeout(state.formTimer);
    if (quiet) {
      state.formTimer = null;
      askForm();
      return;
    }
    state.formTimer = window.setTimeout(askForm, FORM_DEBOUNCE_MS);
  }

  // Another agent or the backend saved the ticket: fields the agent had not edited take
  // the new saved values; the agent's unsaved edits stay unsaved.
  function onTicketUpdated() {
    return loadSaved();
  }

  function onTicketSaved() {
    state.edited = {};
    return loadSaved();
  }

  function subscribeFieldEvents() {
    fieldIds().forEach(function (id) {
      state.client.on('ticket.custom_field_' + id + '.changed', function () { onFieldChanged(String(id)); });
    });
  }

  // ---------------------------------------------------------------- actions

  function feedback(node, message, ok) {
    if (!node) { return; }
    node.textContent = message;
    node.setAttribute('data-ok', ok ? 'true' : 'false');
    window.clearTimeout(node.gpTimer);
    node.gpTimer = window.setTimeout(function () { node.textContent = ''; ui.scheduleResize(); }, FEEDBACK_MS);
    ui.scheduleResize();
  }

  // The placeholders still in what would be inserted (the agent may have typed over some):
  // settings by name, facts (and an agent slot without the agent's name) by their text.
  function unresolved(text, value) {
    var body = text.body || '';
    var found = { settings: [], facts: [] };
    parts.scripts.validPlaceholders(text).forEach(function (p) {
      var original = body.slice(p.start, p.end);
      if (value.indexOf(original) === -1) { return; }
      if (p.kind === 'setting') {
        found.settings.push(p.name || original);
      } else if (p.kind === 'fact' || (p.kind === 'agent' && !state.agentName)) {
        found.facts.push(original);
      }
    });
    return found;
  }

  // A public reply reaches the customer: an unset setting is never inserted; unfilled blanks
  // only on a second click (within the warning's time) of the same text.
  function replyReady(text, value, feedbackNode) {
    var left = unresolved(text, value);
    if (left.settings.length) {
      feedback(feedbackNode, ui.t('insert_blocked_setting', { names: left.settings.join(', ') }), false);
      return false;
    }
    if (!left.facts.length) { return true; }
    var armed = feedbackNode.gpArmed;
    if (armed && armed.value === value && Date.now() - armed.at < FEEDBACK_MS) {
      feedbackNode.gpArmed = null;
      return true;
    }
    feedbackNode.gpArmed = { value: value, at: Date.now() };
    feedback(feedbackNode, ui.t('insert_confirm_blanks', { count: left.facts.length, blanks: left.facts.join(', ') }), false);
    feedbackNode.setAttribute('data-confirm-insert', 'true');
    return false;
  }

  // Insert into the composer the kind belongs to; never flip a composer holding text.
  function insertText(text, bodyNode, feedbackNode) {
    var want = parts.scripts.composerFor(text.kind);
    if (!want) { copyText(text, bodyNode, feedbackNode); return; }
    var client = state.client;
    var value = ui.bodyValue(bodyNode);
    if (want === 'publicReply' && !replyReady(text, value, feedbackNode)) { return; }
    feedbackNode.removeAttribute('data-confirm-insert');
    client.get(['comment.type', 'comment.text']).then(function (data) {
      var type = data['comment.type'];
      if (type === want) { return true; }
      if (parts.scripts.holdsText(data['comment.text'])) { return false; }
      return client.set('comment.type', want).then(function () { return true; });
    }).then(function (ok) {
      if (!ok) {
        feedback(feedbackNode, ui.t(want === 'internalNote' ? 'insert_blocked_note' : 'insert_blocked_reply'), false);
        return null;
      }
      return client.invoke('comment.appendText', value).then(function () {
        feedback(feedbackNode, ui.t(want === 'internalNote' ? 'inserted_note' : 'inserted'), true);
      });
    }).catch(function () {
      feedback(feedbackNode, ui.t('insert_failed'), false);
    });
  }

  function copyWithTextarea(value) {
    var area = document.createElement('textarea');
    area.className = 'gp-copy-buffer';
    area.setAttribute('readonly', 'readonly');
    area.setAttribute('aria-hidden', 'true');
    area.value = value;
    var focused = document.activeElement; // j/k/c/Enter go on from the same card
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    document.body.removeChild(area);
    if (focused && focused.focus) { focused.focus(); }
    return ok;
  }

  function copyText(text, bodyNode, feedbackNode) {
    var value = ui.bodyValue(bodyNode);
    var viaApi = navigator.clipboard && window.isSecureContext
      ? navigator.clipboard.writeText(value)
      : Promise.reject(new Error('no clipboard API'));
    viaApi.then(function () {
      feedback(feedbackNode, ui.t('copied'), true);
    }, function () {
      if (copyWithTextarea(value)) {
        feedback(feedbackNode, ui.t('copied'), true);
      } else {
        ui.selectNode(bodyNode);
        feedback(feedbackNode, ui.t('copy_failed'), false);
      }
    });
  }

  function openTicket(id) {
    state.client.invoke('routeTo', 'ticket', id);
  }

  function setConsultType(choice, feedbackNode) {
    var id = state.guides && state.guides.field_map && state.guides.field_map.consult_type;
    if (!id) { return; }
    var path = 'ticket.customField:custom_field_' + id;
    var change = {};
    change[path] = choice.value;
    state.client.set(change).then(function () {
      feedback(feedbackNode, ui.t('consult_type_set'), true);
      onFieldChanged(String(id)); // Zendesk fires the change event too; the debounce makes them one
    }, function () {
      feedback(feedbackNode, ui.t('consult_type_set_failed'), false);
    });
  }

  function openConfirm() {
    if (state.dirty || state.formPending || state.apply.phase === 'busy') { return; }
    state.apply = { phase: 'confirm', result: null, error: null };
    ui.renderCurrent();
    ui.focusLater('#gp-confirm-title');
  }

  function closeConfirm() {
    if (state.apply.phase === 'busy') { return; }
    state.apply = { phase: 'idle', result: null, error: null };
    ui.renderCurrent();
    ui.focusLater('[data-action="apply"]');
  }

  function doApply() {
    var g = state.guidance;
    if (!g || state.dirty || state.formPending || g.source === 'form' || state.apply.phase === 'busy') { return; }
    // The answer belongs to this attempt (this ticket, this branch), whatever refreshes
    // (e.g. Zendesk's ticket.updated for this very write) settle while it is in flight.
    var attempt = { ticketId: state.ticketId, branch: g.branch };
    state.apply = { phase: 'busy', result: null, error: null, attempt: attempt };
    ui.renderCurrent();
    var body = { branch: g.branch, ticket_updated_at: g.ticket_updated_at };
    if (g.fingerprint) { body.fingerprint = g.fingerprint; }
    function mine() { return state.apply.attempt === attempt && state.ticketId === attempt.ticketId; }
    backend(ticketPath('/apply'), 'POST', body).then(function (result) {
      if (state.ticketId !== attempt.ticketId) { return; }
      // Keep the agent's open form in step with the tags the backend wrote.
      if (result && result.applied && result.tags_added && result.tags_added.length) {
        state.client.invoke('ticket.tags.add', result.tags_added).catch(function () { /* form only */ });
      }
      if (!mine()) { return; }
      state.apply = { phase: 'done', result: result, error: null };
      ui.renderCurrent();
      ui.focusLater('[data-action="apply"]');
    }, function (err) {
      if (!mine()) { return; }
      var error = parts.problems.classify(err);
      // A 409 decision-changed carries the new decision in the guidance's shape: show it at
      // once (with where its facts came from) under the alert, instead of the old one.
      var changed = error.kind === 'decision_changed' ? error.decision : null;
      if (changed && typeof changed.branch === 'string' && changed.source !== 'form') {
        state.guidance = state.savedGuidance = changed;
      }
      state.apply = { phase: 'failed', result: null, error: error };
      ui.renderCurrent();
      ui.focusLater('.gp-applybar [role="alert"] button');
    });
  }

  // ---------------------------------------------------------------- the guide picture

  // GET /v1/guides/{id}/graph.svg needs the session, which a navigation or a link could not
  // carry: the picture is fetched through client.request and shown as an <img> from a
  // data: URL, so its markup is never parsed into this page and nothing in it can run.
  // client.request "doesn't support uploading or downloading binary files"
  // (developer.zendesk.com/documentation/apps/app-developer-guide/making-api-requests-from-a-zendesk-app/):
  // SVG is text, asked for with dataType 'text'.
  function graphKey(g) { return String(g.guide) + '|' + String(g.branch); }

  // Where the ticket's branch sits ({x, y}: 0..1 of the picture), to scroll the picture to
  // it. The SVG is read in an inert XML document (DOMParser), never inserted into the page.
  function highlightAt(svg) {
    try {
      var doc = new window.DOMParser().parseFromString(svg, 'image/svg+xml');
      var mark = doc.querySelector('[stroke-width="4"]');
      var width = Number(doc.documentElement.getAttribute('width'));
      var height = Number(doc.documentElement.getAttribute('height'));
      var x = mark ? Number(mark.getAttribute('x')) : NaN;
      var y = mark ? Number(mark.getAttribute('y')) : NaN;
      if (!(width > 0 && height > 0 && isFinite(x) && isFinite(y))) { return null; }
      return { x: Math.max(0, Math.min(1, x / width)), y: Math.max(0, Math.min(1, y / height)) };
    } catch (e) { return null; }
  }

  function openGraph() {
    var g = state.guidance;
    if (!g || !g.guide || !g.branch) { return; }
    var key = graphKey(g);
    if (state.graph.key === key && state.graph.phase === 'shown') {
      state.graph.open = true;
      ui.renderCurrent();
      ui.focusLater('[data-graph] [data-action="graph-close"]');
      return;
    }
    state.graph = { key: key, phase: 'loading', open: true, url: null, at: null, full: true };
    ui.renderCurrent();
    var path = '/v1/guides/' + encodeURIComponent(g.guide) + '/graph.svg?branch=' + encodeURIComponent(g.branch);
    backend(path, 'GET', undefined, 'text').then(function (svg) {
      if (state.graph.key !== key) { return; }
      if (typeof svg !== 'string' || svg.indexOf('<svg') === -1) { throw new Error('not an SVG picture'); }
      state.graph = {
        key: key, phase: 'shown', open: true, full: true, at: highlightAt(svg),
        url: 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg)
      };
      ui.renderCurrent();
      ui.focusLater('[data-graph] [data-action="graph-close"]');
    }).catch(function (err) {
      if (state.graph.key !== key) { return; }
      var info = err instanceof Error ? { kind: 'generic', status: 0, action: 'retry' } : parts.problems.classify(err);
      state.graph = { key: key, phase: 'failed', open: true, error: info };
      ui.renderCurrent();
    });
  }

  function closeGraph() {
    state.graph.open = false;
    ui.renderCurrent();
    ui.focusLater('[data-action="graph"]');
  }

  function toggleGraphSize() {
    state.graph.full = !state.graph.full;
    ui.renderCurrent();
  }

  function reload() {
    state.place.restore = true;
    return loadSaved();
  }

  parts.actions = {
    insertText: insertText,
    copyText: copyText,
    openTicket: openTicket,
    setConsultType: setConsultType,
    openConfirm: openConfirm,
    closeConfirm: closeConfirm,
    doApply: doApply,
    openGraph: openGraph,
    closeGraph: closeGraph,
    toggleGraphSize: toggleGraphSize,
    graphKey: graphKey,
    reload: reload
  };

  // ---------------------------------------------------------------- start

  function pickLocale(userLocale) {
    var value = String(userLocale || 'ko').toLowerCase();
    return value.indexOf('ko') === 0 ? 'ko' : 'en';
  }

  function loadStrings(locale) {
    // translations/<locale>.json is copied into assets/translations/ when the app is packaged.
    return fetch('translations/' + locale + '.json', { credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) { throw new Error('translations ' + response.status); }
        return response.json();
      })
      .catch(function () {
        if (locale !== 'ko') { return loadStrings('ko'); }
        return { ui: {} };
      });
  }

  function start() {
    var query = new URLSearchParams(window.location.search);
    ui.setColorScheme(query.get('colorScheme'));
    var client = window.ZAFClient && window.ZAFClient.init();
    if (!client) {
      ui.renderStatus('This page only works inside the Zendesk ticket sidebar. / 이 페이지는 Zendesk 티켓 사이드바 안에서만 동작합니다.');
      return;
    }
    state.client = client;
    if (window.ResizeObserver) {
      new window.ResizeObserver(ui.scheduleResize).observe(document.getElementById('app'));
    }
    client.on('ticket.saved', onTicketSaved);
    client.on('ticket.updated', onTicketUpdated);
    client.on('colorScheme.changed', ui.setColorScheme);
    client.on('app.activated', onShown);
    document.addEventListener('visibilitychange', function () {
      if (document.visibilityState === 'visible') { onShown(); }
    });
    ui.installKeyboard();
    Promise.all([client.metadata(), client.get(['ticket.id', 'currentUser', 'colorScheme'])]).then(function (values) {
      var metadata = values[0] || {};
      var data = values[1] || {};
      state.settings = metadata.settings || {};
      var ticketId = data['ticket.id'];
      state.ticketId = ticketId === null || ticketId === undefined || ticketId === '' ? null : ticketId;
      state.locale = pickLocale(data.currentUser && data.currentUser.locale);
      state.agentName = (data.currentUser && typeof data.currentUser.name === 'string') ? data.currentUser.name : '';
      if (data.colorScheme) { ui.setColorScheme(data.colorScheme); }
      document.documentElement.setAttribute('lang', state.locale);
      return loadStrings(state.locale);
    }).then(function (strings) {
      state.strings = strings || { ui: {} };
      document.getElementById('app').setAttribute('aria-label', ui.t('app_label'));
      if (state.ticketId === null) {
        ui.renderStatus(ui.t('new_ticket'));
        return null;
      }
      return loadSaved();
    }).catch(function () {
      state.error = { kind: 'generic', status: 0, action: 'retry' };
      ui.renderCurrent();
    });
  }

  start();
}(window.GuidepostParts = window.GuidepostParts || {}));
