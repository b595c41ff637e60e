/*
 * Guidepost sidebar — where facts came from, and the guide's picture.
 *
 * Facts an admin system gave (a connector: 주차 어드민, 대리 어드민) carry a small "어드민"
 * mark with the source and the time; a source that failed gets one line telling the
 * agent to check it themselves. The picture of the guide (this ticket's row drawn
 * thicker) is an <img> from a data: URL the app built from the backend's answer. All
 * text goes in with textContent.
 */
(function (parts) {
  'use strict';

  // Failures where the source said nothing (vs. said something unusable).
  var NO_ANSWER = { timeout: true, over_budget: true, unavailable: true };

  function S() { return parts.state; }
  function U() { return parts.ui; }
  function A() { return parts.actions; }

  function timeText(iso) {
    var when = typeof iso === 'string' ? new Date(iso) : null;
    if (!when || isNaN(when.getTime())) { return ''; }
    return when.toLocaleTimeString(S().locale === 'ko' ? 'ko-KR' : 'en-US', { hour: '2-digit', minute: '2-digit' });
  }

  function fetchedSource(g, key) {
    var source = (g.fact_sources || {})[key];
    return source && source.kind === 'connector' ? source : null;
  }

  function sourceName(source) {
    return typeof source.label === 'string' && source.label ? source.label : String(source.connector || '');
  }

  // "대리 어드민에서 조회 (01:15)" per fact, for the mark's tooltip and for screen readers.
  function sourceLine(key, source) {
    var ui = U();
    return ui.fieldLabel(key) + ': ' + ui.t('fetched_from', { source: sourceName(source), time: timeText(source.fetched_at) || '—' });
  }

  // The "어드민" mark for facts a connector gave (null when none of them did).
  function mark(g, keys) {
    var ui = U();
    var fetched = (keys || []).map(function (key) { return [key, fetchedSource(g, key)]; })
      .filter(function (pair) { return pair[1]; });
    if (!fetched.length) { return null; }
    var lines = fetched.map(function (pair) { return sourceLine(pair[0], pair[1]); });
    var connectors = fetched.map(function (pair) { return String(pair[1].connector || ''); });
    return ui.el('span', {
      className: 'gp-fetched',
      attrs: { title: lines.join('\n'), 'data-fetched': connectors.filter(function (c, i) { return connectors.indexOf(c) === i; }).join(' ') }
    }, [
      ui.el('span', { text: ui.t('fetched_mark'), attrs: { 'aria-hidden': 'true' } }),
      ui.el('span', { className: 'gp-sr-only', text: ' (' + lines.join('; ') + ')' })
    ]);
  }

  function checkMark(g, check) {
    return mark(g, ((g.fetched_check_facts || {})[check.id]) || []);
  }

  function failures(g) {
    return Array.isArray(g.connector_failures) ? g.connector_failures : [];
  }

  // One line per failed source: "주차 어드민 응답 없음 — 직접 확인".
  function failuresList(g) {
    var ui = U();
    var seen = {};
    var items = failures(g).filter(function (failure) {
      var key = String(failure.connector);
      if (seen[key]) { return false; }
      seen[key] = true;
      return true;
    }).map(function (failure) {
      var words = NO_ANSWER[failure.kind] ? 'connector_no_answer' : 'connector_unusable';
      return ui.el('li', {
        text: ui.t(words, { source: sourceName(failure) }),
        attrs: { 'data-connector-failure': String(failure.connector), 'data-failure-kind': String(failure.kind) }
      });
    });
    if (!items.length) { return null; }
    return ui.el('ul', { className: 'gp-source-failures', attrs: { 'aria-label': ui.t('connector_failures_heading') } }, items);
  }

  // Next to a missing fact a failed source should have given: which source to check.
  function missingMark(g, key) {
    var ui = U();
    var failure = failures(g).filter(function (f) { return (f.facts || []).indexOf(key) !== -1; })[0];
    if (!failure) { return null; }
    return ui.el('span', {
      className: 'gp-fetched gp-fetched--failed', text: ui.t('fetch_failed_mark', { source: sourceName(failure) }),
      attrs: { 'data-unfetched': String(failure.connector) }
    });
  }

  // The facts the admin systems gave, and where a typed value differs from theirs.
  function fetchedSection(g) {
    var ui = U();
    var keys = Object.keys(g.fact_sources || {}).filter(function (key) { return fetchedSource(g, key); });
    var clashes = Array.isArray(g.connector_disagreements) ? g.connector_disagreements : [];
    if (!keys.length && !clashes.length) { return null; }
    var items = keys.map(function (key) {
      return ui.el('li', { className: 'gp-fetched-fact', attrs: { 'data-fetched-fact': key } }, [
        ui.fieldLabel(key) + ': ' + ui.fieldValueText(key, (g.facts || {})[key]) + ' ',
        mark(g, [key])
      ]);
    });
    clashes.forEach(function (clash) {
      items.push(ui.el('li', {
        className: 'gp-fetched-fact gp-fetched-fact--differs',
        text: ui.t('fetched_differs', {
          field: ui.fieldLabel(clash.fact),
          typed: ui.fieldValueText(clash.fact, clash.typed),
          source: sourceName(clash.source || {}),
          fetched: ui.fieldValueText(clash.fact, clash.fetched)
        }),
        attrs: { 'data-disagreement': String(clash.fact) }
      }));
    });
    return ui.foldout('fetched', ui.t('fetched_heading', { count: keys.length }), [ui.el('ul', { className: 'gp-fetched-list' }, items)]);
  }

  // ---------------------------------------------------------------- the guide picture

  function graphButton(g) {
    var ui = U();
    if (!g.guide || !g.branch) { return null; }
    return ui.el('div', { className: 'gp-branch__graph' }, [
      ui.button(ui.t('graph_open'), { basic: true, testid: 'graph', label: ui.t('graph_open_label'), onClick: A().openGraph })
    ]);
  }

  // Bring the ticket's branch into view (at: where it sits, 0..1 of the picture).
  function scrollToRow(frame, img, at) {
    function go() {
      if (!at || !img.naturalHeight) { return; }
      var box = img.getBoundingClientRect();
      frame.scrollTop = Math.max(0, at.y * box.height - frame.clientHeight / 3);
      frame.scrollLeft = Math.max(0, at.x * box.width - 16);
    }
    if (img.complete) { window.setTimeout(go, 0); } else { img.addEventListener('load', go); }
  }

  function graphPanel(g) {
    var ui = U();
    var graph = S().graph;
    if (!graph.open || graph.key !== A().graphKey(g)) { return null; }
    var body;
    if (graph.phase === 'shown') {
      var img = ui.el('img', {
        className: 'gp-graph__img' + (graph.full ? ' gp-graph__img--full' : ''),
        attrs: { src: graph.url, alt: ui.t('graph_alt', { branch: String(g.branch) }), 'data-graph-branch': String(g.branch) }
      });
      img.addEventListener('load', ui.scheduleResize);
      var frame = ui.el('div', { className: 'gp-graph__frame', attrs: { tabindex: '0', role: 'region', 'aria-label': ui.t('graph_heading') } }, [img]);
      if (graph.full) { scrollToRow(frame, img, graph.at); }
      body = [
        frame,
        ui.el('div', { className: 'gp-actions' }, [
          ui.button(graph.full ? ui.t('graph_fit') : ui.t('graph_full'), { basic: true, testid: 'graph-size', onClick: A().toggleGraphSize })
        ])
      ];
    } else if (graph.phase === 'failed') {
      body = [ui.errorView(graph.error, A().openGraph)];
    } else {
      body = [ui.el('p', { className: 'gp-status', text: ui.t('graph_loading') })];
    }
    return ui.el('section', { className: 'gp-graph', attrs: { 'data-graph': graph.phase, 'aria-labelledby': 'gp-h-graph' } }, [
      ui.el('div', { className: 'gp-graph__head' }, [
        ui.el('h2', { className: 'gp-section__title', text: ui.t('graph_heading'), attrs: { id: 'gp-h-graph' } }),
        ui.button(ui.t('graph_close'), { basic: true, testid: 'graph-close', onClick: A().closeGraph })
      ])
    ].concat(body));
  }

  parts.sources = {
    checkMark: checkMark,
    failuresList: failuresList,
    missingMark: missingMark,
    fetchedSection: fetchedSection,
    graphButton: graphButton,
    graphPanel: graphPanel
  };
}(window.GuidepostParts = window.GuidepostParts || {}));
