/*
 * Guidepost sidebar — scripts as the agent uses them: where each kind may go, and the
 * unfilled placeholders in a body (contract C1 `placeholders`: offsets into `body`).
 */
(function (parts) {
  'use strict';

  // reply → public reply, note → internal note; sms and outbound never go through Zendesk
  var COMPOSER_BY_KIND = { reply: 'publicReply', note: 'internalNote' };
  // Older decisions carry no `placeholders`: find the article's placeholder forms in the body.
  var FALLBACK = /설정 필요 \([^)\n]*\)|OO월 OO일(?: OO:OO)?|OOO원|O{2,3}/g;

  function composerFor(kind) {
    return COMPOSER_BY_KIND[kind] || null;
  }

  function fallbackPlaceholders(body) {
    var found = [];
    var match;
    FALLBACK.lastIndex = 0;
    while ((match = FALLBACK.exec(body)) !== null) {
      var text = match[0];
      var kind = 'fact';
      var name = '';
      if (text.indexOf('설정 필요') === 0) {
        kind = 'setting';
        name = text.slice('설정 필요 ('.length, -1);
      } else if (/^O{3}$/.test(text) && (/상담사\s*$/.test(body.slice(0, match.index)) ||
          /^\s*입니다/.test(body.slice(match.index + text.length)))) {
        kind = 'agent';
      }
      found.push({ start: match.index, end: match.index + text.length, kind: kind, name: name });
    }
    return found;
  }

  function validPlaceholders(text) {
    var body = text.body || '';
    var list = Array.isArray(text.placeholders) ? text.placeholders : fallbackPlaceholders(body);
    var last = 0;
    return list.filter(function (p) {
      return p && typeof p.start === 'number' && typeof p.end === 'number';
    }).slice().sort(function (a, b) { return a.start - b.start; }).filter(function (p) {
      var ok = p.start >= last && p.end > p.start && p.end <= body.length;
      if (ok) { last = p.end; }
      return ok;
    });
  }

  // The body as segments: {text} plain, {text, placeholder} unfilled, {text, filled} the
  // agent's name put into an "agent" slot.
  function segments(text, agentName) {
    var body = text.body || '';
    var out = [];
    var at = 0;
    validPlaceholders(text).forEach(function (p) {
      if (p.start > at) { out.push({ text: body.slice(at, p.start) }); }
      var original = body.slice(p.start, p.end);
      if (p.kind === 'agent' && agentName) {
        out.push({ text: agentName, filled: true, original: original });
      } else {
        out.push({ text: original, placeholder: p });
      }
      at = p.end;
    });
    if (at < body.length) { out.push({ text: body.slice(at) }); }
    return out;
  }

  // "<p>hi</p>" and "&nbsp;" count as nothing written; anything else is the agent's text.
  function holdsText(composerText) {
    var plain = String(composerText || '').replace(/<[^>]*>/g, '').replace(/&nbsp;/g, ' ');
    return plain.trim().length > 0;
  }

  parts.scripts = {
    composerFor: composerFor,
    segments: segments,
    holdsText: holdsText,
    validPlaceholders: validPlaceholders
  };
}(window.GuidepostParts = window.GuidepostParts || {}));
