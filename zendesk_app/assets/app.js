/*
 * Guidepost — Zendesk ticket sidebar (ZAF v2). Plain browser JavaScript, no bundler.
 *
 * Rules this file keeps:
 *  - Every value that comes from the ticket, the backend or the user is put into the page
 *    with textContent / createTextNode; nothing is ever parsed as HTML.
 *  - The backend is called only through client.request() (cors: false) with the Guidepost
 *    session the backend minted after checking Zendesk's signed app token; nothing the
 *    browser could choose is trusted by the backend.
 */
(function () {
  'use strict';

  var KIND_ORDER = ['reply', 'outbound', 'sms', 'note'];
  var REFRESH_DEBOUNCE_MS = 400;

  var state = {
    client: null,
    settings: {},
    ticketId: null,
    locale: 'ko',
    strings: {},
    guides: null, // GET /v1/guides
    guidance: null, // GET /v1/tickets/{id}/guidance
    error: null, // classified error of the last guidance load
    loading: false,
    seq: 0, // guards against out-of-order answers
    apply: { phase: 'idle', result: null, error: null }, // idle | confirm | busy | done | failed
    subscribed: false,
    session: null, // {token, expiresAt}: Guidepost session from the signed-URL entry
    sessionRefresh: null,
    refreshTimer: null,
    lastHeight: 0
  };

  // ---------------------------------------------------------------- strings

  function t(key, vars) {
    var ui = state.strings.ui || {};
    var text = Object.prototype.hasOwnProperty.call(ui, key) ? ui[key] : key;
    if (vars) {
      Object.keys(vars).forEach(function (name) {
        text = text.split('{{' + name + '}}').join(String(vars[name]));
      });
    }
    return text;
  }

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

  // Label objects from /v1/guides look like {"ko": "…", "en": "…"}.
  function label(value) {
    if (value === null || value === undefined) { return ''; }
    if (typeof value === 'string') { return value; }
    return value[state.locale] || value.ko || value.en || '';
  }

  function fieldLabel(key) {
    var fields = (state.guides && state.guides.fields) || {};
    return fields[key] ? label(fields[key].label) || key : key;
  }

  function blockLabel(id) {
    var blocks = (state.guides && state.guides.blocks) || {};
    return blocks[id] ? label(blocks[id]) || id : id;
  }

  function noticeLabel(id) {
    var notices = (state.guides && state.guides.notices) || {};
    return notices[id] ? label(notices[id]) || id : id;
  }

  // Positive wording of a check that passed ("Identity verified"), from the app's strings.
  function checkLabel(id) {
    var checks = (state.strings.ui && state.strings.ui.checks) || {};
    return typeof checks[id] === 'string' ? checks[id] : '';
  }

  function findGuide(id) {
    var list = (state.guides && state.guides.guides) || [];
    for (var i = 0; i < list.length; i++) {
      if (list[i].id === id) { return list[i]; }
    }
    return null;
  }

  function branchLabel(guide, branchId) {
    var branches = (guide && guide.branches) || [];
    for (var i = 0; i < branches.length; i++) {
      if (branches[i].id === branchId) { return label(branches[i].label); }
    }
    return '';
  }

  function fieldValueText(key, value) {
    if (value === true) { return t('yes'); }
    if (value === false) { return t('no'); }
    if (value === null || value === undefined) { return ''; }
    var field = state.guides && state.guides.fields && state.guides.fields[key];
    if (field && field.options && Object.prototype.hasOwnProperty.call(field.options, value)) {
      return label(field.options[value]);
    }
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }

  // ---------------------------------------------------------------- DOM helpers

  // el('p', {className: 'x', text: 'safe text', attrs: {'aria-label': '…'}, on: {click: fn}}, [children])
  function el(tag, props, children) {
    var node = document.createElement(tag);
    props = props || {};
    if (props.className) { node.className = props.className; }
    if (props.text !== undefined && props.text !== null) { node.textContent = String(props.text); }
    if (props.attrs) {
      Object.keys(props.attrs).forEach(function (name) {
        node.setAttribute(name, String(props.attrs[name]));
      });
    }
    if (props.on) {
      Object.keys(props.on).forEach(function (name) {
        node.addEventListener(name, props.on[name]);
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) { return; }
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function button(text, options) {
    options = options || {};
    var classes = 'c-btn c-btn--sm' + (options.primary ? ' c-btn--primary' : '') +
      (options.basic ? ' c-btn--basic' : '') + (options.extra ? ' ' + options.extra : '');
    var attrs = { type: 'button' };
    if (options.label) { attrs['aria-label'] = options.label; }
    if (options.testid) { attrs['data-action'] = options.testid; }
    return el('button', { className: classes, text: text, attrs: attrs, on: { click: options.onClick } });
  }

  function section(id, heading, children) {
    var headingId = 'gp-h-' + id;
    return el('section', { className: 'gp-section gp-section--' + id, attrs: { 'aria-labelledby': headingId } },
      [el('h2', { className: 'gp-section__title', text: heading, attrs: { id: headingId } })].concat(children));
  }

  function safeUrl(value) {
    if (typeof value !== 'string') { return null; }
    return /^https?:\/\//i.test(value) ? value : null;
  }

  var announceTimer = null;

  function announce(message) {
    var live = document.getElementById('gp-live');
    if (!live) { return; }
    live.textContent = '';
    window.clearTimeout(announceTimer);
    // a fresh text node makes screen readers announce repeated messages too
    window.setTimeout(function () { live.textContent = message; scheduleResize(); }, 30);
    announceTimer = window.setTimeout(function () { live.textContent = ''; scheduleResize(); }, 8000);
  }

  function render(nodes) {
    var root = document.getElementById('gp-content');
    while (root.firstChild) { root.removeChild(root.firstChild); }
    nodes.forEach(function (node) { if (node) { root.appendChild(node); } });
    document.getElementById('app').setAttribute('aria-busy', state.loading ? 'true' : 'false');
    scheduleResize();
  }

  // ---------------------------------------------------------------- sizing

  var resizePending = false;

  function scheduleResize() {
    if (resizePending || !state.client) { return; }
    resizePending = true;
    // a timer, not requestAnimationFrame: Chrome pauses rAF in an off-screen cross-origin iframe
    window.setTimeout(function () {
      resizePending = false;
      var app = document.getElementById('app');
      var height = Math.ceil(app.getBoundingClientRect().height) + 16;
      if (height !== state.lastHeight) {
        state.lastHeight = height;
        state.client.invoke('resize', { width: '100%', height: height + 'px' });
      }
    }, 0);
  }

  // ---------------------------------------------------------------- backend calls

  // ---------------------------------------------------------------- session
  // Zendesk vouches for the agent: it posts its signed app token to the app's signed URL;
  // the backend checks it and sends the page here with a short-lived Guidepost session in
  // the URL fragment (never sent to any server). The browser never builds a token.
  var SESSION_REFRESH_MARGIN_S = 60;

  function sessionFailure() {
    return {
      status: 401,
      responseText: JSON.stringify({
        type: 'https://guidepost.dev/problems/session-expired',
        title: 'Session expired',
        status: 401
      })
    };
  }

  function loadSession() {
    if (state.session) { return state.session; }
    var hash = String(window.location.hash || '').replace(/^#/, '');
    var params = new URLSearchParams(hash);
    var token = params.get('gp_session');
    var expires = Number(params.get('gp_expires'));
    if (token && expires > 0) {
      state.session = { token: token, expiresAt: expires };
      if (window.history && window.history.replaceState) {
        // Keep the token out of history and out of any later copy of the URL.
        window.history.replaceState(null, '', window.location.pathname + window.location.search);
      }
    }
    return state.session || null;
  }

  function sendWithSession(path, method, body, token) {
    var base = String(state.settings.backend_url || '').replace(/\/+$/, '');
    var options = {
      url: base + path,
      type: method,
      contentType: 'application/json',
      dataType: 'json',
      cors: false,
      headers: { Authorization: 'Bearer ' + token }
    };
    if (body !== undefined) { options.data = JSON.stringify(body); }
    return state.client.request(options).then(function (data) {
      return typeof data === 'string' && data ? JSON.parse(data) : data;
    });
  }

  function ensureSession() {
    var session = loadSession();
    if (!session) { return Promise.reject(sessionFailure()); }
    var now = Date.now() / 1000;
    if (session.expiresAt - now > SESSION_REFRESH_MARGIN_S) { return Promise.resolve(session); }
    if (session.expiresAt <= now) { return Promise.reject(sessionFailure()); }
    if (!state.sessionRefresh) {
      state.sessionRefresh = sendWithSession('/v1/session/refresh', 'POST', {}, session.token)
        .then(function (answer) {
          state.session = { token: answer.session_token, expiresAt: answer.expires_at };
          return state.session;
        })
        .finally(function () { state.sessionRefresh = null; });
    }
    return state.sessionRefresh;
  }

  function backend(path, method, body) {
    return ensureSession().then(function (session) {
      return sendWithSession(path, method, body, session.token);
    });
  }

  function parseJson(text) {
    if (typeof text !== 'string' || !text) { return null; }
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  function headerValue(err, name) {
    if (!err) { return null; }
    if (typeof err.getResponseHeader === 'function') {
      var fromXhr = err.getResponseHeader(name);
      if (fromXhr) { return fromXhr; }
    }
    var headers = err.headers || err.responseHeaders;
    if (headers && typeof headers === 'object') {
      var wanted = name.toLowerCase();
      var keys = Object.keys(headers);
      for (var i = 0; i < keys.length; i++) {
        if (keys[i].toLowerCase() === wanted) { return headers[keys[i]]; }
      }
    }
    return null;
  }

  function retryAfterSeconds(err, body) {
    var candidates = [headerValue(err, 'Retry-After'), body && body.retry_after, body && body.retryAfter];
    for (var i = 0; i < candidates.length; i++) {
      var number = Number(candidates[i]);
      if (candidates[i] !== null && candidates[i] !== undefined && candidates[i] !== '' && isFinite(number)) {
        return Math.max(0, Math.ceil(number));
      }
    }
    var detail = body && typeof body.detail === 'string' ? body.detail : '';
    var match = /retry[ -]after\D{0,12}?(\d+(?:\.\d+)?)/i.exec(detail) ||
      /(\d+(?:\.\d+)?)\s*(?:s\b|sec|second|초)/i.exec(detail);
    return match ? Math.ceil(Number(match[1])) : null;
  }

  // Turn what client.request() rejects with into one of the states the sidebar shows.
  function classify(err) {
    var status = err && typeof err.status === 'number' ? err.status : 0;
    var body = (err && err.responseJSON) || parseJson(err && err.responseText);
    var isProblem = !!(body && typeof body === 'object' && (body.title || body.type || body.detail));
    var detail = isProblem ? String(body.detail || body.title || '') : '';
    var info = { kind: 'generic', status: status, detail: detail, field: isProblem ? body.field : null };
    if (status === 401 || status === 403) {
      info.kind = 'unauthorized';
    } else if (status === 409) {
      info.kind = 'conflict';
    } else if (status === 503 && isProblem) {
      info.kind = 'rate_limited';
      info.retryAfter = retryAfterSeconds(err, body);
    } else if (status === 404 && isProblem) {
      info.kind = 'not_found';
    } else if (status === 422) {
      info.kind = 'invalid';
    } else if (status === 0 || (status >= 500 && !isProblem)) {
      info.kind = 'down';
    }
    return info;
  }

  function clockTime(date) {
    function pad(n) { return (n < 10 ? '0' : '') + n; }
    return pad(date.getHours()) + ':' + pad(date.getMinutes()) + ':' + pad(date.getSeconds());
  }

  function errorMessage(info) {
    switch (info.kind) {
      case 'down': return t('error_backend_down');
      case 'unauthorized': return t('error_unauthorized');
      case 'conflict': return t('error_conflict');
      case 'not_found': return t('error_not_found');
      case 'invalid':
        return t('error_invalid', { detail: info.field ? fieldLabel(info.field) + ' — ' + info.detail : info.detail });
      case 'rate_limited':
        if (info.retryAfter === null || info.retryAfter === undefined) { return t('error_rate_limited_unknown'); }
        return t('error_rate_limited', {
          seconds: info.retryAfter,
          time: clockTime(new Date(Date.now() + info.retryAfter * 1000))
        });
      default: return t('error_generic', { status: info.status });
    }
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

  function loadGuidance() {
    var seq = ++state.seq;
    state.loading = true;
    state.error = null;
    state.apply = { phase: 'idle', result: null, error: null };
    if (state.guidance) { renderCurrent(); } else { render([status(t('loading'))]); }
    return Promise.all([
      loadGuides(),
      backend('/v1/tickets/' + encodeURIComponent(state.ticketId) + '/guidance', 'GET')
    ]).then(function (results) {
      if (seq !== state.seq) { return; }
      state.loading = false;
      state.guidance = results[1];
      renderCurrent();
    }, function (err) {
      if (seq !== state.seq) { return; }
      state.loading = false;
      state.guidance = null;
      state.error = classify(err);
      renderCurrent();
    });
  }

  function scheduleRefresh() {
    if (state.ticketId === null) { return; }
    window.clearTimeout(state.refreshTimer);
    state.refreshTimer = window.setTimeout(loadGuidance, REFRESH_DEBOUNCE_MS);
  }

  function subscribeFieldEvents() {
    if (state.subscribed || !state.guides) { return; }
    state.subscribed = true;
    var fieldMap = state.guides.field_map || {};
    Object.keys(fieldMap).forEach(function (key) {
      state.client.on('ticket.custom_field_' + fieldMap[key] + '.changed', scheduleRefresh);
    });
  }

  // ---------------------------------------------------------------- views

  function status(text) {
    return el('p', { className: 'gp-status', text: text });
  }

  function renderCurrent() {
    if (state.error) { render([errorView(state.error, loadGuidance)]); return; }
    var g = state.guidance;
    if (!g) { render([status(t('loading'))]); return; }
    var nodes = [];
    if (state.loading) { nodes.push(el('p', { className: 'gp-refreshing', text: t('refreshing') })); }
    if (!g.guide) {
      nodes.push(noGuideView(g));
    } else if (g.suggested) {
      nodes = nodes.concat(suggestedView(g));
    } else {
      nodes = nodes.concat(guidanceView(g));
    }
    render(nodes);
  }

  function errorView(info, onRetry) {
    var actions = [];
    if (info.kind === 'conflict') {
      actions.push(button(t('reload'), { primary: true, testid: 'reload', onClick: loadGuidance }));
    } else if (onRetry) {
      actions.push(button(t('retry'), { testid: 'retry', onClick: onRetry }));
    }
    var showDetail = info.detail && info.kind !== 'invalid';
    return el('div', { className: 'gp-alert gp-alert--error', attrs: { role: 'alert', 'data-error': info.kind } }, [
      el('h2', { className: 'gp-alert__title', text: t('error_title') }),
      el('p', { className: 'gp-alert__body', text: errorMessage(info) }),
      showDetail ? el('p', { className: 'gp-alert__detail', text: t('error_detail', { detail: info.detail }) }) : null,
      actions.length ? el('div', { className: 'gp-actions' }, actions) : null
    ]);
  }

  function noGuideView() {
    return el('div', { className: 'gp-empty', attrs: { 'data-state': 'no-guide' } }, [
      el('h1', { className: 'gp-title', text: t('no_guide_title') }),
      el('p', { text: t('no_guide_body') })
    ]);
  }

  function guideHeader(g, suggested) {
    var guide = findGuide(g.guide);
    var title = guide ? label(guide.title) : g.guide;
    var url = guide ? safeUrl(guide.article_url) : null;
    var titleNode = url
      ? el('a', {
        className: 'gp-title__link', text: title,
        attrs: { href: url, target: '_blank', rel: 'noopener noreferrer', title: t('open_article') }
      }, [el('span', { className: 'gp-sr-only', text: ' (' + t('open_article') + ')' })])
      : document.createTextNode(title);
    return el('header', { className: 'gp-header' }, [
      el('h1', { className: 'gp-title' }, [titleNode]),
      suggested ? el('span', { className: 'gp-badge gp-badge--suggested', text: t('suggested_title') }) : null
    ]);
  }

  function suggestedView(g) {
    return [
      el('div', { attrs: { 'data-state': 'suggested' } }, [
        guideHeader(g, true),
        noticesSection(g.notices),
        el('p', { className: 'gp-hint', text: t('suggested_body') })
      ])
    ];
  }

  function eligibilityBadge(g) {
    var kind = 'info';
    if (g.eligible) { kind = 'eligible'; } else if ((g.blocks || []).length) { kind = 'blocked'; } else if ((g.missing || []).length) { kind = 'missing'; }
    return el('span', { className: 'gp-badge gp-badge--' + kind, text: t('status_' + kind), attrs: { 'data-eligibility': kind } });
  }

  function branchSection(g) {
    var guide = findGuide(g.guide);
    var path = String(g.branch || '').split('.').join(' › ');
    var name = branchLabel(guide, g.branch) || path;
    return section('branch', t('branch_heading'), [
      el('p', { className: 'gp-branch' }, [
        el('span', { className: 'gp-branch__label', text: name }),
        ' ',
        eligibilityBadge(g)
      ]),
      el('p', { className: 'gp-branch__path', text: path, attrs: { 'data-branch': g.branch } })
    ]);
  }

  function checksSection(g) {
    var checks = (g.checks || []).slice();
    var covered = {};
    checks.forEach(function (check) { covered[check.id] = true; });
    (g.blocks || []).forEach(function (id) {
      if (!covered[id]) { checks.push({ id: id, state: 'blocked', facts: [] }); }
    });
    if (!checks.length) { return null; }
    var items = checks.map(function (check) {
      var facts = (check.facts || []).map(fieldLabel);
      var icon = { ok: '✔', blocked: '✖', unknown: '?' }[check.state] || '?';
      var positive = checkLabel(check.id);
      var text;
      var detail = null;
      if (check.state === 'blocked') {
        text = blockLabel(check.id);
      } else if (check.state === 'unknown') {
        text = positive || blockLabel(check.id);
        detail = t('check_unknown_fields', { fields: facts.join(', ') || '—' });
      } else {
        text = positive || t('check_not_applicable', { label: blockLabel(check.id) });
      }
      return el('li', { className: 'gp-check gp-check--' + check.state, attrs: { 'data-check': check.id, 'data-state': check.state } }, [
        el('span', { className: 'gp-check__icon', text: icon, attrs: { 'aria-hidden': 'true' } }),
        el('span', { className: 'gp-check__text' }, [
          el('span', { className: 'gp-sr-only', text: t('check_' + check.state) + ': ' }),
          text,
          detail ? el('span', { className: 'gp-check__detail', text: detail }) : null
        ])
      ]);
    });
    return section('checks', t('checks_heading'), [el('ul', { className: 'gp-checklist' }, items)]);
  }

  function missingSection(g) {
    var missing = g.missing || [];
    if (!missing.length) { return null; }
    return section('missing', t('missing_heading'), [
      el('p', { className: 'gp-hint', text: t('missing_hint') }),
      el('ol', { className: 'gp-missing' }, missing.map(function (key) {
        return el('li', { text: fieldLabel(key), attrs: { 'data-field': key } });
      }))
    ]);
  }

  function noticesSection(notices) {
    if (!notices || !notices.length) { return null; }
    return section('notices', t('notices_heading'), [
      el('ul', { className: 'gp-notices' }, notices.map(function (id) {
        return el('li', { className: 'gp-notice', text: noticeLabel(id), attrs: { 'data-notice': id } });
      }))
    ]);
  }

  function textCard(text) {
    var title = text.title || text.key;
    var body = el('div', { className: 'gp-card__body', text: text.body || '' });
    var card = el('article', { className: 'gp-card', attrs: { 'data-text': text.key, 'data-kind': text.kind } }, [
      el('h4', { className: 'gp-card__title', text: title }),
      body
    ]);
    card.appendChild(el('div', { className: 'gp-actions' }, [
      button(t('insert'), {
        primary: true, testid: 'insert', label: t('insert_label', { title: title }),
        onClick: function () { insertText(text); }
      }),
      button(t('copy'), {
        basic: true, testid: 'copy', label: t('copy_label', { title: title }),
        onClick: function () { copyText(text, body); }
      })
    ]));
    return card;
  }

  function textsSection(g) {
    var texts = g.texts || [];
    if (!texts.length) { return null; }
    var kinds = KIND_ORDER.slice();
    texts.forEach(function (text) { if (kinds.indexOf(text.kind) === -1) { kinds.push(text.kind); } });
    var groups = [];
    kinds.forEach(function (kind) {
      var ofKind = texts.filter(function (text) { return text.kind === kind; });
      if (!ofKind.length) { return; }
      groups.push(el('div', { className: 'gp-group', attrs: { 'data-kind-group': kind } }, [
        el('h3', { className: 'gp-group__title', text: t('kind_' + kind) === 'kind_' + kind ? kind : t('kind_' + kind) })
      ].concat(ofKind.map(textCard))));
    });
    return section('texts', t('texts_heading'), groups);
  }

  function listOrNone(values, className) {
    if (!values.length) { return el('p', { className: 'gp-none', text: t('apply_none') }); }
    return el('ul', { className: className }, values.map(function (value) {
      return el('li', { text: value });
    }));
  }

  function confirmPanel(g) {
    var fieldsSet = g.fields_set || {};
    var fieldLines = Object.keys(fieldsSet).map(function (key) {
      return fieldLabel(key) + ': ' + fieldValueText(key, fieldsSet[key]);
    });
    var confirm = button(t('apply_confirm'), { primary: true, testid: 'apply-confirm', onClick: doApply });
    var cancel = button(t('apply_cancel'), { basic: true, testid: 'apply-cancel', onClick: closeConfirm });
    var panel = el('div', {
      className: 'gp-confirm',
      attrs: { role: 'group', 'aria-labelledby': 'gp-confirm-title', 'data-confirm': 'apply' },
      on: { keydown: function (event) { if (event.key === 'Escape') { closeConfirm(); } } }
    }, [
      el('h3', { className: 'gp-confirm__title', text: t('apply_confirm_heading'), attrs: { id: 'gp-confirm-title', tabindex: '-1' } }),
      el('h4', { text: t('apply_tags') }),
      listOrNone(g.tags || [], 'gp-confirm__tags'),
      el('h4', { text: t('apply_note') }),
      g.note ? el('div', { className: 'gp-confirm__note', text: g.note }) : el('p', { className: 'gp-none', text: t('apply_none') }),
      el('h4', { text: t('apply_fields') }),
      listOrNone(fieldLines, 'gp-confirm__fields'),
      el('div', { className: 'gp-actions' }, [confirm, cancel])
    ]);
    return panel;
  }

  function applySection(g) {
    var phase = state.apply.phase;
    var children = [el('p', { className: 'gp-hint', text: t('apply_hint') })];
    if (g.already_applied && phase !== 'done') {
      children.push(el('p', { className: 'gp-hint gp-hint--applied', text: t('already_applied_hint'), attrs: { 'data-already-applied': 'true' } }));
    }
    if (phase === 'confirm' || phase === 'busy') {
      var panel = confirmPanel(g);
      if (phase === 'busy') {
        panel.querySelectorAll('button').forEach(function (b) { b.disabled = true; });
        panel.appendChild(el('p', { className: 'gp-status', text: t('applying') }));
      }
      children.push(panel);
    } else {
      children.push(el('div', { className: 'gp-actions' }, [
        button(t('apply'), { primary: true, testid: 'apply', onClick: openConfirm })
      ]));
    }
    if (phase === 'done' && state.apply.result) {
      var result = state.apply.result;
      var added = result.tags_added || [];
      children.push(el('div', {
        className: 'gp-alert ' + (result.applied ? 'gp-alert--success' : 'gp-alert--info'),
        attrs: { role: 'status', 'data-applied': result.applied ? 'true' : 'false' }
      }, [
        el('p', { text: result.applied ? t('applied') : t('already_applied') }),
        result.applied && added.length ? el('p', { className: 'gp-hint', text: t('tags_added', { tags: added.join(', ') }) }) : null
      ]));
    }
    if (phase === 'failed' && state.apply.error) {
      children.push(errorView(state.apply.error, state.apply.error.kind === 'conflict' ? null : openConfirm));
    }
    return section('apply', t('apply_heading'), children);
  }

  function guidanceView(g) {
    return [
      el('div', { attrs: { 'data-state': 'guidance' } }, [
        guideHeader(g, false),
        branchSection(g),
        checksSection(g),
        missingSection(g),
        noticesSection(g.notices),
        textsSection(g),
        applySection(g)
      ])
    ];
  }

  // ---------------------------------------------------------------- actions

  function insertText(text) {
    var client = state.client;
    var body = text.body || '';
    var ready = text.kind === 'note' ? client.set('comment.type', 'internalNote') : Promise.resolve();
    ready.then(function () {
      return client.invoke('comment.appendText', body);
    }).then(function () {
      announce(t(text.kind === 'note' ? 'inserted_note' : 'inserted', { title: text.title || text.key }));
    }, function () {
      announce(t('insert_failed'));
    });
  }

  function copyWithTextarea(value) {
    var area = el('textarea', { className: 'gp-copy-buffer', attrs: { readonly: 'readonly', 'aria-hidden': 'true' } });
    area.value = value;
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function selectNode(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copyText(text, bodyNode) {
    var value = text.body || '';
    var title = text.title || text.key;
    var viaApi = navigator.clipboard && window.isSecureContext
      ? navigator.clipboard.writeText(value)
      : Promise.reject(new Error('no clipboard API'));
    viaApi.then(function () {
      announce(t('copied', { title: title }));
    }, function () {
      if (copyWithTextarea(value)) {
        announce(t('copied', { title: title }));
      } else {
        selectNode(bodyNode);
        announce(t('copy_failed'));
      }
    });
  }

  function focusLater(selector) {
    window.setTimeout(function () {
      var node = document.querySelector(selector);
      if (node) { node.focus(); }
    }, 0);
  }

  function openConfirm() {
    state.apply = { phase: 'confirm', result: null, error: null };
    renderCurrent();
    focusLater('#gp-confirm-title');
  }

  function closeConfirm() {
    state.apply = { phase: 'idle', result: null, error: null };
    renderCurrent();
    focusLater('[data-action="apply"]');
  }

  function doApply() {
    var g = state.guidance;
    if (!g || state.apply.phase === 'busy') { return; }
    state.apply = { phase: 'busy', result: null, error: null };
    renderCurrent();
    backend('/v1/tickets/' + encodeURIComponent(state.ticketId) + '/apply', 'POST', {
      branch: g.branch,
      ticket_updated_at: g.ticket_updated_at,
      fingerprint: g.fingerprint // contract C3: apply only what the agent saw
    }).then(function (result) {
      if (g !== state.guidance) { return; }
      if (result && result.ticket_updated_at) { g.ticket_updated_at = result.ticket_updated_at; }
      state.apply = { phase: 'done', result: result, error: null };
      renderCurrent();
      announce(result && result.applied ? t('applied') : t('already_applied'));
      // Keep the agent's open ticket form in step with the tags the backend wrote.
      if (result && result.applied && result.tags_added && result.tags_added.length) {
        state.client.invoke('ticket.tags.add', result.tags_added).catch(function () { /* form only */ });
      }
      focusLater('[data-action="apply"]');
    }, function (err) {
      if (g !== state.guidance) { return; }
      state.apply = { phase: 'failed', result: null, error: classify(err) };
      renderCurrent();
      focusLater('.gp-section--apply [role="alert"] button');
    });
  }

  // ---------------------------------------------------------------- start

  function start() {
    var client = window.ZAFClient && window.ZAFClient.init();
    if (!client) {
      render([status('This page only works inside the Zendesk ticket sidebar. / 이 페이지는 Zendesk 티켓 사이드바 안에서만 동작합니다.')]);
      return;
    }
    state.client = client;
    if (window.ResizeObserver) {
      new window.ResizeObserver(scheduleResize).observe(document.getElementById('app'));
    }
    client.on('ticket.saved', scheduleRefresh);
    Promise.all([client.metadata(), client.get(['ticket.id', 'currentUser'])]).then(function (values) {
      var metadata = values[0] || {};
      var data = values[1] || {};
      state.settings = metadata.settings || {};
      var ticketId = data['ticket.id'];
      state.ticketId = ticketId === null || ticketId === undefined || ticketId === '' ? null : ticketId;
      state.locale = pickLocale(data.currentUser && data.currentUser.locale);
      document.documentElement.setAttribute('lang', state.locale);
      return loadStrings(state.locale);
    }).then(function (strings) {
      state.strings = strings || { ui: {} };
      document.getElementById('app').setAttribute('aria-label', t('app_label'));
      if (state.ticketId === null) {
        render([status(t('new_ticket'))]);
        return null;
      }
      return loadGuidance();
    }).catch(function () {
      state.error = { kind: 'generic', status: 0, detail: '' };
      renderCurrent();
    });
  }

  start();
}());
