/*
 * Guidepost sidebar — one script card: its body with unfilled placeholders marked (and
 * editable in place), and only the actions its channel allows: reply → public reply,
 * note → internal note, sms / outbound → copy (they are not sent through Zendesk).
 */
(function (parts) {
  'use strict';

  function S() { return parts.state; }

  function placeholderMark(segment) {
    var ui = parts.ui;
    var p = segment.placeholder;
    var title = p.kind === 'setting'
      ? ui.t('placeholder_setting', { name: p.name || segment.text })
      : ui.t('placeholder_fact', { name: p.name || segment.text });
    return ui.el('mark', {
      className: 'gp-ph gp-ph--' + p.kind, text: segment.text,
      attrs: { 'data-placeholder': p.kind, 'data-name': p.name || '', 'data-original': segment.text, title: title }
    });
  }

  function bodyNode(text) {
    var ui = parts.ui;
    var edited = S().edits[text.key];
    var body = ui.el('div', {
      className: 'gp-card__body',
      attrs: { contenteditable: 'plaintext-only', spellcheck: 'false', role: 'textbox', 'aria-multiline': 'true', 'aria-label': ui.t('body_label', { title: text.title || text.key }) }
    });
    if (edited && edited.from === text.body) {
      body.textContent = edited.value;
    } else {
      parts.scripts.segments(text, S().agentName).forEach(function (segment) {
        if (segment.placeholder) {
          body.appendChild(placeholderMark(segment));
        } else if (segment.filled) {
          body.appendChild(ui.el('span', { className: 'gp-ph gp-ph--filled', text: segment.text, attrs: { 'data-filled': 'agent', title: ui.t('placeholder_agent') } }));
        } else {
          body.appendChild(document.createTextNode(segment.text));
        }
      });
    }
    body.addEventListener('input', function () {
      body.querySelectorAll('mark.gp-ph').forEach(function (mark) {
        if (mark.textContent !== mark.getAttribute('data-original')) { mark.className = 'gp-ph gp-ph--typed'; }
      });
      S().edits[text.key] = { from: text.body, value: ui.bodyValue(body) };
    });
    body.addEventListener('click', function (event) {
      var mark = event.target.closest && event.target.closest('mark.gp-ph');
      if (mark && mark.textContent === mark.getAttribute('data-original')) { parts.ui.selectNode(mark); }
    });
    return body;
  }

  // Put the caret on the next unfilled placeholder, selected so typing replaces it.
  function jumpToPlaceholder(body) {
    var marks = Array.prototype.slice.call(body.querySelectorAll('mark.gp-ph--fact, mark.gp-ph--agent'));
    if (!marks.length) { return; }
    var selection = window.getSelection();
    var after = marks.filter(function (mark) {
      return selection.rangeCount && selection.getRangeAt(0).compareBoundaryPoints(Range.START_TO_START, rangeOf(mark)) < 0;
    })[0] || marks[0];
    body.focus();
    parts.ui.selectNode(after);
  }

  function rangeOf(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    return range;
  }

  function settingsNeeded(text) {
    var ui = parts.ui;
    var names = parts.scripts.validPlaceholders(text).filter(function (p) { return p.kind === 'setting'; })
      .map(function (p) { return p.name || (text.body || '').slice(p.start, p.end); });
    if (!names.length) { return null; }
    return ui.el('ul', { className: 'gp-settings-needed' }, names.map(function (name) {
      return ui.el('li', { text: ui.t('setting_needed', { name: name }), attrs: { 'data-setting': name } });
    }));
  }

  function textCard(text, isNow) {
    var ui = parts.ui;
    var actions = parts.actions;
    var title = text.title || text.key;
    var composer = parts.scripts.composerFor(text.kind);
    var body = bodyNode(text);
    var feedbackNode = ui.el('span', { className: 'gp-feedback', attrs: { role: 'status', 'data-feedback': text.key } });
    var buttons = [];
    if (composer) {
      buttons.push(ui.button(ui.t(composer === 'internalNote' ? 'insert_note' : 'insert'), {
        primary: true, testid: 'insert', label: ui.t(composer === 'internalNote' ? 'insert_note_label' : 'insert_label', { title: title }),
        onClick: function () { actions.insertText(text, body, feedbackNode); }
      }));
    }
    buttons.push(ui.button(ui.t('copy'), {
      primary: !composer, basic: !!composer, testid: 'copy', label: ui.t('copy_label', { title: title }),
      onClick: function () { actions.copyText(text, body, feedbackNode); }
    }));
    var unfilled = parts.scripts.validPlaceholders(text).filter(function (p) {
      return p.kind === 'fact' || (p.kind === 'agent' && !S().agentName);
    }).length;
    if (unfilled) {
      buttons.push(ui.button(ui.t('next_placeholder', { count: unfilled }), {
        basic: true, testid: 'next-placeholder', label: ui.t('next_placeholder_label'),
        onClick: function () { jumpToPlaceholder(body); }
      }));
    }
    return ui.el('article', {
      className: 'gp-card' + (isNow ? ' gp-card--now' : ''),
      attrs: { 'data-text': text.key, 'data-kind': text.kind, tabindex: '-1', 'aria-label': title }
    }, [
      ui.el('h3', { className: 'gp-card__title' }, [
        ui.el('span', { className: 'gp-kind gp-kind--' + text.kind, text: ui.t('kind_' + text.kind) === 'kind_' + text.kind ? text.kind : ui.t('kind_' + text.kind) }),
        ' ',
        ui.el('span', { text: title }),
        text.from_article === false ? ui.el('span', { className: 'gp-badge gp-badge--info', text: ui.t('not_from_article'), attrs: { 'data-not-from-article': 'true' } }) : null
      ]),
      body,
      (text.asks || []).length ? ui.el('p', {
        className: 'gp-hint gp-asks', text: ui.t('asks', { fields: text.asks.map(ui.fieldLabel).join(', ') }),
        attrs: { 'data-asks': text.asks.join(' ') }
      }) : null,
      settingsNeeded(text),
      composer ? null : ui.el('p', { className: 'gp-hint gp-channel', text: ui.t('channel_' + text.kind) === 'channel_' + text.kind ? ui.t('channel_copy_only') : ui.t('channel_' + text.kind) }),
      ui.el('div', { className: 'gp-actions' }, buttons.concat([feedbackNode]))
    ]);
  }

  parts.cards = { textCard: textCard };
}(window.GuidepostParts = window.GuidepostParts || {}));
