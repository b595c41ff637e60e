/*
 * Guidepost sidebar — what a failed client.request() means to an agent.
 *
 * The kind comes from the problem's `type` slug (https://guidepost.dev/problems/<slug>),
 * never from its `detail`: the sidebar shows its own Korean/English words and no server
 * text. Answers that are not problems come from Zendesk's proxy (whitelist, upstream down).
 */
(function (parts) {
  'use strict';

  var PROBLEM_PREFIX = 'https://guidepost.dev/problems/';
  var KIND_BY_SLUG = {
    'conflict': 'conflict',
    'branch-changed': 'conflict',
    'decision-changed': 'decision_changed',
    'rate-limited': 'rate_limited',
    'zendesk-unavailable': 'zendesk_down',
    'zendesk': 'zendesk_down',
    'zendesk-rejected': 'zendesk_rejected',
    'forbidden': 'forbidden',
    'forbidden-edit': 'forbidden_edit',
    'session-expired': 'session_expired',
    'unauthorized': 'unauthorized',
    'ticket-closed': 'ticket_closed',
    'ticket-not-found': 'not_found',
    'not-found': 'not_found',
    'invalid-input': 'invalid',
    'invalid-field-value': 'invalid',
    'unknown-field': 'invalid',
    'nothing-to-apply': 'nothing_to_apply',
    'payload-too-large': 'server',
    'settings': 'server',
    'guide-data': 'server',
    'source-drift': 'server',
    'internal': 'server'
  };
  // what the agent can do about each kind: reload (keeps the place), retry, or nothing
  var ACTION_BY_KIND = {
    conflict: 'reload',
    decision_changed: 'reload',
    session_expired: 'none', // only Zendesk can vouch again: the message says how (reload the apps)
    rate_limited: 'retry',
    zendesk_down: 'retry',
    down: 'retry',
    server: 'retry',
    generic: 'retry',
    not_found: 'none',
    forbidden: 'none',
    forbidden_edit: 'none',
    ticket_closed: 'none',
    whitelist: 'none',
    unauthorized: 'none',
    invalid: 'none',
    nothing_to_apply: 'none',
    zendesk_rejected: 'retry'
  };

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
    var candidates = [headerValue(err, 'Retry-After'), body && body.retry_after];
    for (var i = 0; i < candidates.length; i++) {
      var value = candidates[i];
      var number = Number(value);
      if (value !== null && value !== undefined && value !== '' && isFinite(number)) {
        return Math.max(0, Math.ceil(number));
      }
    }
    return null;
  }

  function problemSlug(body) {
    if (!body || typeof body !== 'object' || typeof body.type !== 'string') { return null; }
    return body.type.indexOf(PROBLEM_PREFIX) === 0 ? body.type.slice(PROBLEM_PREFIX.length) : null;
  }

  // Turn what client.request() rejects with into {kind, status, field, retryAfter, decision}.
  function classify(err) {
    var status = err && typeof err.status === 'number' ? err.status : 0;
    var body = (err && err.responseJSON) || parseJson(err && err.responseText);
    var slug = problemSlug(body);
    var info = { kind: 'generic', status: status, field: null, retryAfter: null, decision: null };
    if (slug !== null) {
      info.kind = KIND_BY_SLUG[slug] || (status >= 500 ? 'server' : 'generic');
      info.field = typeof body.field === 'string' ? body.field : null;
      if (info.kind === 'rate_limited') { info.retryAfter = retryAfterSeconds(err, body); }
      if (info.kind === 'decision_changed' && body.decision && typeof body.decision === 'object') {
        info.decision = body.decision;
      }
    } else if (status === 403 && /whitelist/i.test(String((err && err.responseText) || ''))) {
      info.kind = 'whitelist'; // Zendesk's proxy refused: the backend host is not in domainWhitelist
    } else if (status === 401) {
      info.kind = 'unauthorized';
    } else if (status === 0 || status === 502 || status === 503 || status === 504) {
      info.kind = 'down';
    }
    info.action = ACTION_BY_KIND[info.kind] || 'retry';
    return info;
  }

  parts.problems = { classify: classify, problemSlug: problemSlug };
}(window.GuidepostParts = window.GuidepostParts || {}));
