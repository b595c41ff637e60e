/*
 * Guidepost sidebar — the views. The top is the outcome and the one thing to do now; the
 * rest is one click away; the apply bar (with a preview of what it writes) follows the
 * next step. All text goes in with textContent.
 */
(function (parts) {
  'use strict';

  var OUTCOME_BADGE = { eligible: 'eligible', blocked: 'blocked', pending: 'missing' };
  var countdownTimer = null;
  var resizePending = false;

  function S() { return parts.state; }
  function A() { return parts.actions; }

  // ---------------------------------------------------------------- strings and labels

  function t(key, vars) {
    var strings = S().strings.ui || {};
    var text = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key;
    Object.keys(vars || {}).forEach(function (name) {
      text = text.split('{{' + name + '}}').join(String(vars[name]));
    });
    return text;
  }

  function label(value) {
    if (value === null || value === undefined) { return ''; }
    if (typeof value === 'string') { return value; }
    return value[S().locale] || value.ko || value.en || '';
  }

  function catalogLabel(kind, id) {
    var table = (S().guides && S().guides[kind]) || {};
    return table[id] ? label(table[id].label || table[id]) || id : id;
  }

  function fieldLabel(key) { return catalogLabel('fields', key); }

  function checkLabel(id) {
    var checks = (S().strings.ui && S().strings.ui.checks) || {};
    return typeof checks[id] === 'string' ? checks[id] : '';
  }

  function findGuide(id) {
    return ((S().guides && S().guides.guides) || []).filter(function (g) { return g.id === id; })[0] || null;
  }

  function branchLabel(guide, branchId) {
    var found = ((guide && guide.branches) || []).filter(function (b) { return b.id === branchId; })[0];
    return found ? label(found.label) : '';
  }

  function fieldValueText(key, value) {
    if (value === true) { return t('yes'); }
    if (value === false) { return t('no'); }
    if (value === null || value === undefined) { return ''; }
    var field = S().guides && S().guides.fields && S().guides.fields[key];
    if (field && field.options && Object.prototype.hasOwnProperty.call(field.options, value)) {
      return label(field.options[value]);
    }
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }

  // C1 `outcome`, or the same three words from the older eligible/blocks fields.
  function outcomeOf(g) {
    if (g.outcome === 'eligible' || g.outcome === 'blocked' || g.outcome === 'pending') { return g.outcome; }
    if (g.eligible) { return 'eligible'; }
    return (g.blocks || []).length ? 'blocked' : 'pending';
  }

  // ---------------------------------------------------------------- DOM helpers

  function el(tag, props, children) {
    var node = document.createElement(tag);
    props = props || {};
    if (props.className) { node.className = props.className; }
    if (props.text !== undefined && props.text !== null) { node.textContent = String(props.text); }
    Object.keys(props.attrs || {}).forEach(function (name) { node.setAttribute(name, String(props.attrs[name])); });
    Object.keys(props.on || {}).forEach(function (name) { node.addEventListener(name, props.on[name]); });
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
    var node = el('button', { className: classes, text: text, attrs: attrs, on: { click: options.onClick } });
    if (options.disabled) { node.disabled = true; }
    return node;
  }

  function safeUrl(value) {
    return typeof value === 'string' && /^https?:\/\//i.test(value) ? value : null;
  }

  function focusLater(selector) {
    window.setTimeout(function () {
      var node = document.querySelector(selector);
      if (node) { node.focus(); }
    }, 0);
  }

  function selectNode(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function bodyValue(node) {
    var text = typeof node.innerText === 'string' && node.isConnected ? node.innerText : node.textContent;
    return String(text || '').replace(/\u00a0/g, ' ');
  }

  function scheduleResize() {
    if (resizePending || !S().client) { return; }
    resizePending = true;
    // a timer, not requestAnimationFrame: Chrome pauses rAF in an off-screen cross-origin iframe
    window.setTimeout(function () {
      resizePending = false;
      var height = Math.ceil(document.getElementById('app').getBoundingClientRect().height) + 16;
      if (height !== S().lastHeight) {
        S().lastHeight = height;
        S().client.invoke('resize', { width: '100%', height: height + 'px' });
      }
    }, 0);
  }

  // ---------------------------------------------------------------- focus across renders

  // Where the keyboard is (which card, which button, the caret in a script body), so a
  // refresh that rebuilds the view puts it back.
  function textOffset(root, node, offset) {
    var range = document.createRange();
    range.selectNodeContents(root);
    try { range.setEnd(node, offset); } catch (e) { return null; }
    return range.toString().length;
  }

  function pointAt(root, wanted) {
    var walker = document.createTreeWalker(root, window.NodeFilter.SHOW_TEXT);
    var left = wanted;
    var last = null;
    var node = walker.nextNode();
    while (node) {
      if (left <= node.data.length) { return { node: node, offset: left }; }
      left -= node.data.length;
      last = node;
      node = walker.nextNode();
    }
    return last ? { node: last, offset: last.data.length } : { node: root, offset: root.childNodes.length };
  }

  function focusPlace() {
    var active = document.activeElement;
    var root = document.getElementById('gp-content');
    if (!active || active === root || !root.contains(active)) { return null; }
    var card = active.closest('.gp-card');
    var place = {
      card: card ? card.getAttribute('data-text') : null,
      isCard: active === card,
      body: active.classList.contains('gp-card__body'),
      action: active.getAttribute('data-action'),
      id: active.id || null,
      start: null,
      end: null
    };
    var selection = window.getSelection();
    if (place.body && selection.rangeCount && active.contains(selection.anchorNode)) {
      place.start = textOffset(active, selection.anchorNode, selection.anchorOffset);
      place.end = textOffset(active, selection.focusNode, selection.focusOffset);
    }
    return place;
  }

  function restoreFocus(place) {
    if (!place) { return; }
    var root = document.getElementById('gp-content');
    var scope = place.card ? root.querySelector('.gp-card[data-text="' + window.CSS.escape(place.card) + '"]') : root;
    var found = null;
    if (scope && place.isCard) { found = scope; } else if (scope && place.body) {
      found = scope.querySelector('.gp-card__body');
    } else if (scope && place.action) {
      found = scope.querySelector('[data-action="' + window.CSS.escape(place.action) + '"]');
    } else if (place.id) { found = document.getElementById(place.id); }
    if (!found || found.disabled) { return; }
    found.focus({ preventScroll: true });
    if (place.body && place.start !== null && place.end !== null) {
      var a = pointAt(found, place.start);
      var b = pointAt(found, place.end);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.setBaseAndExtent(a.node, a.offset, b.node, b.offset);
    }
  }

  function render(nodes) {
    window.clearInterval(countdownTimer);
    var root = document.getElementById('gp-content');
    var place = focusPlace();
    while (root.firstChild) { root.removeChild(root.firstChild); }
    nodes.forEach(function (node) { if (node) { root.appendChild(node); } });
    restoreFocus(place);
    document.getElementById('app').setAttribute('aria-busy', S().loading ? 'true' : 'false');
    scheduleResize();
  }

  function renderStatus(text) { render([el('p', { className: 'gp-status', text: text })]); }

  function setColorScheme(value) {
    document.documentElement.setAttribute('data-color-scheme', value === 'dark' ? 'dark' : 'light');
  }

  // ---------------------------------------------------------------- header, errors

  // The guide's title and article, remembered per ticket so an error can still name them.
  function rememberGuide(ticketId, g) {
    var guide = g && g.guide ? findGuide(g.guide) : null;
    if (!guide) { return; }
    try {
      window.localStorage.setItem('gp-guide-' + ticketId, JSON.stringify({ guide: guide.id, title: label(guide.title), url: guide.article_url }));
    } catch (e) { /* storage off: the header just waits for the backend */ }
  }

  function rememberedGuide(ticketId) {
    try {
      var value = JSON.parse(window.localStorage.getItem('gp-guide-' + ticketId) || 'null');
      return value && typeof value.title === 'string' ? value : null;
    } catch (e) { return null; }
  }

  function guideHeader(g, suggested) {
    var guide = findGuide(g.guide);
    var remembered = guide ? null : rememberedGuide(S().ticketId);
    var title = guide ? label(guide.title) : (remembered ? remembered.title : g.guide);
    var url = guide ? safeUrl(guide.article_url) : (remembered ? safeUrl(remembered.url) : null);
    var titleNode = url
      ? el('a', {
        className: 'gp-title__link', text: title,
        attrs: { href: url, target: '_blank', rel: 'noopener noreferrer', title: t('open_article'), 'data-article': 'true' }
      }, [el('span', { className: 'gp-sr-only', text: ' (' + t('open_article') + ')' })])
      : document.createTextNode(title);
    return el('header', { className: 'gp-header' }, [
      el('h1', { className: 'gp-title' }, [titleNode]),
      suggested ? el('span', { className: 'gp-badge gp-badge--suggested', text: t('suggested_title') }) : null,
      g.source === 'form' ? el('span', {
        className: 'gp-badge gp-badge--unsaved', text: t('source_form'),
        attrs: { 'data-source': 'form', title: t('source_form_hint') }
      }) : null
    ]);
  }

  function errorMessage(info) {
    if (info.kind === 'invalid') {
      return info.field ? t('error_invalid', { field: fieldLabel(info.field) }) : t('error_invalid_unknown');
    }
    if (info.kind === 'rate_limited' && (info.retryAfter === null || info.retryAfter === undefined)) {
      return t('error_rate_limited_unknown');
    }
    var key = 'error_' + info.kind;
    return t(key) === key ? t('error_generic') : t(key);
  }

  function errorView(info, onRetry) {
    var actions = [];
    var body = el('p', { className: 'gp-alert__body' });
    if (info.kind === 'rate_limited' && typeof info.retryAfter === 'number') {
      var left = info.retryAfter;
      var seconds = el('span', { className: 'gp-countdown', text: left, attrs: { 'data-countdown': left } });
      var parts2 = errorMessage(info).split('{{seconds}}');
      body.appendChild(document.createTextNode(parts2[0]));
      body.appendChild(seconds);
      body.appendChild(document.createTextNode(parts2.slice(1).join('')));
      var retry = button(t('retry'), { testid: 'retry', onClick: onRetry, disabled: left > 0 });
      actions.push(retry);
      var until = Date.now() + left * 1000;
      window.setTimeout(function () {
        countdownTimer = window.setInterval(function () {
          var now = Math.max(0, Math.ceil((until - Date.now()) / 1000));
          seconds.textContent = String(now);
          seconds.setAttribute('data-countdown', now);
          if (now === 0) { retry.disabled = false; window.clearInterval(countdownTimer); }
        }, 250);
      }, 0);
    } else {
      body.textContent = errorMessage(info);
      if (info.action === 'reload') {
        actions.push(button(t('reload'), { primary: true, testid: 'reload', onClick: A().reload }));
      } else if (info.action === 'retry' && onRetry) {
        actions.push(button(t('retry'), { testid: 'retry', onClick: onRetry }));
      }
    }
    return el('div', { className: 'gp-alert gp-alert--error', attrs: { role: 'alert', 'data-error': info.kind } }, [
      el('h2', { className: 'gp-alert__title', text: t('error_title_' + info.kind) === 'error_title_' + info.kind ? t('error_title') : t('error_title_' + info.kind) }),
      body,
      actions.length ? el('div', { className: 'gp-actions' }, actions) : null
    ]);
  }

  // ---------------------------------------------------------------- views

  // A later load failed while guidance is on screen: it stays, under a banner that says it
  // may be out of date and what to do (the view is blocked only when nothing was shown yet).
  function staleBanner(info) {
    var banner = errorView(info, A().reload);
    banner.className += ' gp-alert--banner';
    banner.setAttribute('data-stale', 'true');
    banner.insertBefore(el('p', { className: 'gp-hint', text: t('stale_guidance') }), banner.children[1]);
    return banner;
  }

  function renderCurrent() {
    // Never rebuild under a Korean IME composition: it would break the syllable being typed.
    if (S().composing) { S().renderDeferred = true; return; }
    S().renderDeferred = false;
    var g = S().guidance;
    if (S().error && !g) {
      var known = rememberedGuide(S().ticketId) ? { guide: rememberedGuide(S().ticketId).guide } : null;
      render([known ? guideHeader(known, known.suggested) : null, errorView(S().error, A().reload)]);
      return;
    }
    if (!g) { renderStatus(t('loading')); return; }
    rememberGuide(S().ticketId, g);
    var nodes = [];
    if (S().loading) { nodes.push(el('p', { className: 'gp-refreshing', text: t('refreshing') })); }
    if (S().error) { nodes.push(staleBanner(S().error)); }
    if (!g.guide) {
      nodes.push(noGuideView());
    } else if (g.suggested) {
      nodes.push(suggestedView(g));
    } else {
      nodes.push(guidanceView(g));
    }
    render(nodes);
  }

  function noGuideView() {
    return el('div', { className: 'gp-empty', attrs: { 'data-state': 'no-guide' } }, [
      el('h1', { className: 'gp-title', text: t('no_guide_title') }),
      el('p', { text: t('no_guide_body') })
    ]);
  }

  function suggestedView(g) {
    var consult = S().guides && S().guides.fields && S().guides.fields.consult_type;
    var feedbackNode = el('span', { className: 'gp-feedback', attrs: { role: 'status' } });
    var choices = (g.suggested_consult_types || []).map(function (choice) {
      var name = consult && consult.options && consult.options[choice.code] ? label(consult.options[choice.code]) : choice.code;
      return el('li', { className: 'gp-choice' }, [
        el('span', { className: 'gp-choice__name', text: name }),
        button(t('set_consult_type'), {
          primary: true, testid: 'set-consult-type', label: t('set_consult_type_label', { value: name }),
          onClick: function () { A().setConsultType(choice, feedbackNode); }
        })
      ]);
    });
    return el('div', { attrs: { 'data-state': 'suggested' } }, [
      guideHeader(g, true),
      el('p', { className: 'gp-hint', text: t('suggested_body') }),
      choices.length ? el('ul', { className: 'gp-choices', attrs: { 'aria-label': t('consult_type_choices') } }, choices) : null,
      feedbackNode,
      noticesSection(g.notices)
    ]);
  }

  function outcomeBanner(g) {
    var outcome = outcomeOf(g);
    var guide = findGuide(g.guide);
    var path = String(g.branch || '').split('.').join(' › ');
    var children = [
      el('p', { className: 'gp-outcome__label', text: t('outcome_' + outcome), attrs: { 'data-eligibility': OUTCOME_BADGE[outcome] } }),
      el('p', { className: 'gp-branch__label', text: branchLabel(guide, g.branch) || path }),
      el('p', { className: 'gp-branch__path', text: path, attrs: { 'data-branch': g.branch } }),
      parts.sources.graphButton(g)
    ];
    if ((g.blocks || []).length) {
      children.push(el('ul', { className: 'gp-blocks' }, g.blocks.map(function (id) {
        return el('li', { text: catalogLabel('blocks', id), attrs: { 'data-block': id } });
      })));
    }
    if ((g.missing || []).length) {
      children.push(el('p', { className: 'gp-outcome__ask', text: t('missing_heading') }));
      children.push(el('ol', { className: 'gp-missing' }, g.missing.map(function (key) {
        return el('li', { attrs: { 'data-field': key } }, [fieldLabel(key), parts.sources.missingMark(g, key)]);
      })));
    }
    children.push(parts.sources.failuresList(g));
    return el('section', { className: 'gp-outcome gp-outcome--' + outcome, attrs: { 'data-outcome': outcome, 'aria-label': t('outcome_heading') } }, children);
  }

  function guidanceView(g) {
    var texts = g.texts || [];
    var rest = texts.slice(1);
    return el('div', { attrs: { 'data-state': 'guidance', 'data-source': g.source || 'ticket' } }, [
      guideHeader(g, false),
      outcomeBanner(g),
      parts.sources.graphPanel(g),
      texts.length ? el('section', { className: 'gp-now', attrs: { 'aria-labelledby': 'gp-h-now' } }, [
        el('h2', { className: 'gp-section__title', text: t('now_heading'), attrs: { id: 'gp-h-now' } }),
        parts.cards.textCard(texts[0], true)
      ]) : null,
      applyBar(g),
      noticesSection(g.notices),
      historySection(g),
      rest.length ? foldout('rest', t('rest_heading', { count: rest.length }), rest.map(function (text) {
        return parts.cards.textCard(text, false);
      })) : null,
      checksSection(g),
      parts.sources.fetchedSection(g)
    ]);
  }

  function foldout(name, summary, children) {
    var details = el('details', { className: 'gp-fold gp-fold--' + name, attrs: { 'data-fold': name } }, [
      el('summary', { className: 'gp-fold__summary', text: summary })
    ].concat(children));
    details.open = !!S().place[name];
    details.addEventListener('toggle', function () { S().place[name] = details.open; scheduleResize(); });
    return details;
  }

  function noticesSection(notices) {
    if (!notices || !notices.length) { return null; }
    return el('ul', { className: 'gp-notices', attrs: { 'aria-label': t('notices_heading') } }, notices.map(function (id) {
      return el('li', { className: 'gp-notice', text: catalogLabel('notices', id), attrs: { 'data-notice': id } });
    }));
  }

  function historySection(g) {
    var count = g.prior_reconnections || 0;
    if (!count) { return null; }
    var ids = g.prior_reconnection_tickets || [];
    return el('section', { className: 'gp-history', attrs: { 'data-history': count } }, [
      el('p', { className: 'gp-history__title', text: t('history_heading', { count: count }) }),
      ids.length ? el('ul', { className: 'gp-history__list' }, ids.map(function (id) {
        return el('li', {}, [el('a', {
          className: 'gp-history__link', text: '#' + id,
          attrs: { href: '#', 'data-ticket-link': id, 'aria-label': t('open_ticket', { id: id }) },
          on: { click: function (event) { event.preventDefault(); A().openTicket(id); } }
        })]);
      })) : null
    ]);
  }

  function checksSection(g) {
    var checks = (g.checks || []).slice();
    if (!checks.length) { return null; }
    var counts = { ok: 0, blocked: 0, unknown: 0 };
    checks.forEach(function (c) { counts[c.state] = (counts[c.state] || 0) + 1; });
    var items = checks.map(function (check) {
      var icon = { ok: '✔', blocked: '✖', unknown: '?' }[check.state] || '?';
      var text = check.state === 'blocked' ? catalogLabel('blocks', check.id)
        : (checkLabel(check.id) || t('check_not_applicable', { label: catalogLabel('blocks', check.id) }));
      var detail = check.state === 'unknown'
        ? el('span', { className: 'gp-check__detail', text: t('check_unknown_fields', { fields: (check.facts || []).map(fieldLabel).join(', ') || '—' }) })
        : null;
      return el('li', { className: 'gp-check gp-check--' + check.state, attrs: { 'data-check': check.id, 'data-state': check.state } }, [
        el('span', { className: 'gp-check__icon', text: icon, attrs: { 'aria-hidden': 'true' } }),
        el('span', { className: 'gp-check__text' }, [el('span', { className: 'gp-sr-only', text: t('check_' + check.state) + ': ' }), text, detail]),
        parts.sources.checkMark(g, check)
      ]);
    });
    return foldout('checks', t('checks_summary', counts), [el('ul', { className: 'gp-checklist' }, items)]);
  }

  // ---------------------------------------------------------------- apply bar

  function listOrNone(values, className) {
    if (!values.length) { return el('p', { className: 'gp-none', text: t('apply_none') }); }
    return el('ul', { className: className }, values.map(function (value) { return el('li', { text: value }); }));
  }

  function confirmPanel(g) {
    var fieldsSet = g.fields_set || {};
    var fieldLines = Object.keys(fieldsSet).map(function (key) {
      return fieldLabel(key) + ': ' + fieldValueText(key, fieldsSet[key]);
    });
    return el('div', {
      className: 'gp-confirm',
      attrs: { role: 'group', 'aria-labelledby': 'gp-confirm-title', 'data-confirm': 'apply' },
      on: { keydown: function (event) { if (event.key === 'Escape') { A().closeConfirm(); } } }
    }, [
      el('h3', { className: 'gp-confirm__title', text: t('apply_confirm_heading'), attrs: { id: 'gp-confirm-title', tabindex: '-1' } }),
      el('h4', { text: t('apply_tags') }),
      listOrNone(g.tags || [], 'gp-confirm__tags'),
      el('h4', { text: t('apply_note') }),
      g.note ? el('div', { className: 'gp-confirm__note', text: g.note }) : el('p', { className: 'gp-none', text: t('apply_none') }),
      el('h4', { text: t('apply_fields') }),
      listOrNone(fieldLines, 'gp-confirm__fields'),
      el('div', { className: 'gp-actions' }, [
        button(t('apply_confirm'), { primary: true, testid: 'apply-confirm', onClick: A().doApply }),
        button(t('apply_cancel'), { basic: true, testid: 'apply-cancel', onClick: A().closeConfirm })
      ])
    ]);
  }

  function applyBar(g) {
    var apply = S().apply;
    var dirty = S().dirty || g.source === 'form';
    var preview = t('apply_preview', {
      tags: (g.tags || []).length,
      note: g.note ? t('apply_preview_note') : t('apply_preview_no_note'),
      fields: Object.keys(g.fields_set || {}).length
    });
    var children = [];
    if (dirty) {
      children.push(el('p', { className: 'gp-applybar__dirty', text: t('apply_dirty'), attrs: { 'data-dirty': 'true' } }));
    }
    if (apply.phase === 'confirm' || apply.phase === 'busy') {
      var panel = confirmPanel(g);
      if (apply.phase === 'busy' || S().formPending) {
        panel.querySelector('[data-action="apply-confirm"]').disabled = true;
      }
      if (apply.phase === 'busy') {
        panel.querySelectorAll('button').forEach(function (b) { b.disabled = true; });
        panel.appendChild(el('p', { className: 'gp-status', text: t('applying') }));
      }
      children.push(panel);
    } else {
      children.push(el('div', { className: 'gp-applybar__row' }, [
        button(t('apply'), { primary: true, testid: 'apply', onClick: A().openConfirm, disabled: dirty || S().formPending }),
        el('span', { className: 'gp-applybar__preview', text: preview, attrs: { 'data-preview': 'apply' } })
      ]));
    }
    if (g.already_applied && apply.phase !== 'done') {
      children.push(el('p', { className: 'gp-hint gp-hint--applied', text: t('already_applied_hint'), attrs: { 'data-already-applied': 'true' } }));
    }
    if (apply.phase === 'done' && apply.result) {
      var result = apply.result;
      var added = result.tags_added || [];
      children.push(el('div', {
        className: 'gp-alert ' + (result.applied ? 'gp-alert--success' : 'gp-alert--info'),
        attrs: { role: 'status', 'data-applied': result.applied ? 'true' : 'false' }
      }, [
        el('p', { text: result.applied ? t('applied') : t('already_applied') }),
        result.applied && added.length ? el('p', { className: 'gp-hint', text: t('tags_added', { tags: added.join(', ') }) }) : null
      ]));
    }
    if (apply.phase === 'failed' && apply.error) {
      children.push(errorView(apply.error, A().openConfirm));
    }
    return el('section', { className: 'gp-applybar', attrs: { 'aria-label': t('apply_heading'), 'data-applybar': 'true' } }, children);
  }

  // ---------------------------------------------------------------- place and keyboard

  function cards() { return Array.prototype.slice.call(document.querySelectorAll('.gp-card')); }

  function activate(card) {
    if (!card) { return; }
    var fold = card.closest('details');
    if (fold && !fold.open) { fold.open = true; }
    S().place.active = card.getAttribute('data-text');
    card.focus();
  }

  // After a reload the agent's place (open foldouts, the card they were on) comes back.
  function restorePlace() {
    if (!S().place.restore) { return; }
    S().place.restore = false;
    var key = S().place.active;
    var found = key ? cards().filter(function (c) { return c.getAttribute('data-text') === key; })[0] : null;
    if (found) { activate(found); }
  }

  function installKeyboard() {
    document.addEventListener('compositionstart', function () { S().composing = true; });
    document.addEventListener('compositionend', function () {
      S().composing = false;
      if (S().renderDeferred) { window.setTimeout(renderCurrent, 0); }
    });
    document.addEventListener('focusin', function (event) {
      var card = event.target.closest && event.target.closest('.gp-card');
      if (card) { S().place.active = card.getAttribute('data-text'); }
    });
    document.addEventListener('keydown', function (event) {
      var target = event.target;
      if (event.altKey || event.ctrlKey || event.metaKey) { return; }
      if (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) { return; }
      var list = cards();
      var current = target.closest ? target.closest('.gp-card') : null;
      var index = current ? list.indexOf(current) : -1;
      if (event.key === 'j' || event.key === 'k') {
        var next = event.key === 'j' ? Math.min(list.length - 1, index + 1) : Math.max(0, index - 1);
        activate(list[next]);
        event.preventDefault();
      } else if (current && target === current && (event.key === 'c' || event.key === 'Enter')) {
        // Enter inserts where the channel allows it; an SMS or OB script is copied instead
        var action = current.querySelector(event.key === 'c' ? '[data-action="copy"]' : '[data-action="insert"]') ||
          current.querySelector('[data-action="copy"]');
        if (action) { action.click(); event.preventDefault(); }
      }
    });
  }

  parts.ui = {
    t: t,
    el: el,
    button: button,
    label: label,
    fieldLabel: fieldLabel,
    fieldValueText: fieldValueText,
    foldout: foldout,
    errorView: errorView,
    render: render,
    renderStatus: renderStatus,
    renderCurrent: renderCurrent,
    restorePlace: restorePlace,
    scheduleResize: scheduleResize,
    bodyValue: bodyValue,
    selectNode: selectNode,
    focusLater: focusLater,
    setColorScheme: setColorScheme,
    installKeyboard: installKeyboard
  };
}(window.GuidepostParts = window.GuidepostParts || {}));
