/*
 * Guidepost harness host page: plays Zendesk's side of the ZAF v2 postMessage protocol
 * around the real app + real SDK running in the iframe, and shows a simple ticket view of
 * the emulator's tickets. Every ticket/backend value is rendered with textContent.
 *
 * Protocol (as the SDK in zendesk_app/node_modules/zendesk_app_framework_sdk/lib speaks it):
 *   app -> host  {key: 'iframe.handshake', message: {version}, appGuid, instanceGuid}
 *   host -> app  {key: 'zaf.app.registered', message: {context, metadata}}
 *   app -> host  {id, request: 'get'|'set'|'invoke', params, appGuid, instanceGuid}
 *   host -> app  {id, result: {...values, errors: {}}}
 *   app -> host  {key: 'iframe.on:<event>', message: {subscriberCount}}
 *   host -> app  {key: 'zaf.<event>', message, needsReply?}   (reply: 'iframe.reply:<event>')
 *   app -> host  {key: 'request:N', message: <client.request options>}
 *   host -> app  {key: 'zaf.request:N.done' | 'zaf.request:N.fail', message: {responseArgs: [...]}}
 *
 * The ticket form is modelled as Zendesk's is: `form` holds the agent's unsaved values; an
 * edit fires `ticket.custom_field_<id>.changed` at once (before any save); Submit writes the
 * edited fields and fires `ticket.saved`; a write by someone else (the backend's apply)
 * reloads the saved ticket, keeps the agent's unsaved edits and fires `ticket.updated`.
 */
(function () {
  'use strict';

  var params = new URLSearchParams(window.location.search);
  var cfg = null;
  var guides = null; // backend /v1/guides (labels, field map)
  var optionValues = {}; // field id -> list of {name, value} from the emulator's ticket fields
  var tickets = [];
  var ticket = null; // the open ticket (emulator JSON): the saved state
  var form = {}; // field id -> the form's current value (may be unsaved)
  var colorScheme = params.get('colorScheme') || 'light';
  var routes = []; // routeTo calls the app made
  var comments = [];
  var formTags = []; // the agent form's tags: the ticket's + those added via ticket.tags.add
  var composer = { type: 'publicReply', text: '' };
  var frame = null;
  var appOrigin = null;
  var appGuid = null;
  var subscriptions = {};
  var replyWaiters = {};
  var locale = params.get('locale') || null;
  var log = [];

  var harness = window.harness = {
    log: log,
    ready: false,
    registered: false,
    composer: composer,
    formTags: formTags,
    subscriptions: subscriptions,
    fire: fire,
    openTicket: openTicket,
    save: saveFields,
    reloadApp: mountApp,
    edit: editField,
    outsideUpdate: function () { return receiveOutsideUpdate(); },
    dirty: dirtyFields,
    routes: routes,
    setColorScheme: setColorScheme,
    updateBeforeAnswerMs: 0, // > 0: ticket.updated for the app's own apply arrives first
    delays: [] // [{type, suffix, ms}]: hold matching backend answers back
  };

  // ---------------------------------------------------------------- helpers

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

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function getJson(url, options) {
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: text }; }
        if (!response.ok) {
          var error = new Error((data && (data.error || data.detail || data.description)) || ('HTTP ' + response.status));
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  function lang() { return String(currentLocale()).toLowerCase().indexOf('ko') === 0 ? 'ko' : 'en'; }
  function currentLocale() { return locale || (cfg && cfg.locale) || 'ko'; }
  function label(value) {
    if (!value) { return ''; }
    if (typeof value === 'string') { return value; }
    return value[lang()] || value.ko || value.en || '';
  }

  function record(direction, kind, detail) {
    var entry = { at: Date.now(), direction: direction, kind: kind, detail: detail };
    log.push(entry);
    var list = document.getElementById('zaf-log');
    if (list) {
      var text = direction + ' ' + kind + ' ' + JSON.stringify(detail);
      list.appendChild(el('li', { text: text.length > 400 ? text.slice(0, 400) + '…' : text }));
    }
    return entry;
  }

  // ---------------------------------------------------------------- the app iframe

  function post(message) {
    if (!frame || !frame.contentWindow) { return; }
    frame.contentWindow.postMessage(JSON.stringify(message), appOrigin);
  }

  function newGuid() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    return 'guid-' + Date.now() + '-' + Math.random().toString(16).slice(2);
  }

  // Load the installation settings afresh (as Zendesk does when it loads an app), then
  // start a new app instance in a new iframe.
  function mountApp() {
    return getJson('/harness/config.json').then(function (config) {
      cfg = config;
      createFrame();
    });
  }

  function createFrame() {
    var slot = document.getElementById('app-slot');
    clear(slot);
    subscriptions = harness.subscriptions = {};
    harness.registered = false;
    appGuid = newGuid();
    var src = cfg.app_url + '?origin=' + encodeURIComponent(window.location.origin) +
      '&app_guid=' + encodeURIComponent(appGuid) + '&colorScheme=' + encodeURIComponent(colorScheme);
    // ?app_from=backend: the page the backend serves after its signed-URL entry (production)
    var fromBackend = params.get('app_from') === 'backend';
    if (fromBackend) { src += '&app_from=backend'; }
    appOrigin = fromBackend ? new URL(cfg.backend_url).origin : new URL(src, window.location.href).origin;
    frame = el('iframe', {
      className: 'hz-app-frame',
      attrs: { src: src, title: cfg.app_name + ' app', id: 'app-frame', name: 'app-frame' }
    });
    frame.style.height = '120px';
    slot.appendChild(frame);
    record('host', 'mount', { src: src });
  }

  function context() {
    return {
      host: 'zendesk', product: 'support', location: 'ticket_sidebar',
      instanceGuid: appGuid, account: { subdomain: 'emulator' },
      ticketId: ticket ? ticket.id : null
    };
  }

  function metadata() {
    return {
      appId: 0, installationId: 1, name: cfg.app_name, version: cfg.app_version,
      settings: Object.assign({ title: cfg.app_name }, cfg.settings)
    };
  }

  function currentUser() {
    return { id: 1, name: 'Harness Agent', email: 'agent@example.com', locale: currentLocale(), role: 'admin' };
  }

  function customValue(fieldId) {
    var found = ((ticket && ticket.custom_fields) || []).filter(function (f) { return f.id === fieldId; })[0];
    return found && found.value !== undefined ? found.value : null;
  }

  // The form's value: the agent's unsaved edit if there is one, else the saved value.
  function formValue(fieldId) {
    return Object.prototype.hasOwnProperty.call(form, fieldId) ? form[fieldId] : customValue(fieldId);
  }

  // Values compare as the form shows them ("23000" in an input is the saved 23000).
  function same(a, b) {
    return String(a === null || a === undefined ? '' : a) === String(b === null || b === undefined ? '' : b);
  }

  function dirtyFields() {
    return Object.keys(form).map(Number).filter(function (id) { return !same(form[id], customValue(id)); });
  }

  // The agent edits a field: the form changes, Zendesk fires the change event before any save.
  function editField(fieldId, value) {
    var id = Number(fieldId);
    var next = value === '' || value === undefined ? null : value;
    if (same(formValue(id), next)) { return; }
    form[id] = next;
    var input = document.querySelector('#fields-form [data-field-id="' + id + '"]');
    if (input && input.value !== (next === null ? '' : String(next))) { input.value = next === null ? '' : String(next); }
    renderDirty();
    fire('ticket.custom_field_' + id + '.changed', next);
  }

  function renderDirty() {
    var box = document.getElementById('dirty-status');
    if (!box) { return; }
    var count = dirtyFields().length;
    box.textContent = count ? count + ' unsaved field(s)' : '';
    document.querySelectorAll('#fields-form [data-field-id]').forEach(function (input) {
      var id = Number(input.getAttribute('data-field-id'));
      input.classList.toggle('hz-unsaved', !same(formValue(id), customValue(id)));
    });
  }

  function setColorScheme(value) {
    colorScheme = value;
    document.documentElement.setAttribute('data-color-scheme', value);
    fire('colorScheme.changed', value);
  }

  function ticketObject() {
    if (!ticket) { return null; }
    return {
      id: ticket.id, subject: ticket.subject, description: ticket.description,
      status: ticket.status, priority: ticket.priority, type: ticket.type,
      tags: formTags.slice(), createdAt: ticket.created_at, updatedAt: ticket.updated_at,
      requester: { id: ticket.requester_id },
      customFields: (ticket.custom_fields || []).map(function (f) {
        return { id: 'custom_field_' + f.id, value: formValue(f.id) };
      })
    };
  }

  function getPath(path) {
    var simple = {
      'ticket': function () { return ticketObject(); },
      'ticket.id': function () { return ticket ? ticket.id : null; },
      'ticket.subject': function () { return ticket ? ticket.subject : null; },
      'ticket.description': function () { return ticket ? ticket.description : null; },
      'ticket.status': function () { return ticket ? ticket.status : null; },
      'ticket.tags': function () { return formTags.slice(); },
      'ticket.updatedAt': function () { return ticket ? ticket.updated_at : null; },
      'currentUser': currentUser,
      'currentUser.id': function () { return currentUser().id; },
      'currentUser.name': function () { return currentUser().name; },
      'currentUser.email': function () { return currentUser().email; },
      'currentUser.locale': function () { return currentUser().locale; },
      'comment.type': function () { return composer.type; },
      'comment.text': function () { return composer.text; },
      'colorScheme': function () { return colorScheme; }
    };
    if (simple[path]) { return { ok: true, value: simple[path]() }; }
    var match = /^ticket\.customField:custom_field_(\d+)$/.exec(path);
    if (match) { return { ok: true, value: formValue(Number(match[1])) }; }
    return { ok: false };
  }

  function apiError(path, message) {
    return { message: message, name: 'APIUnavailable', path: path };
  }

  function handleGet(params) {
    var result = { errors: {} };
    (params || []).forEach(function (path) {
      var found = getPath(path);
      if (found.ok) { result[path] = found.value; } else { result.errors[path] = apiError(path, 'is not a supported path in the harness'); }
    });
    return result;
  }

  function handleSet(params) {
    var result = { errors: {} };
    Object.keys(params || {}).forEach(function (path) {
      var value = params[path];
      var field = /^ticket\.customField:custom_field_(\d+)$/.exec(path);
      if (path === 'comment.type' && (value === 'internalNote' || value === 'publicReply')) {
        composer.type = value;
        result[path] = value;
        renderComposer();
      } else if (field && ticket) {
        editField(Number(field[1]), value);
        result[path] = value;
      } else {
        result.errors[path] = apiError(path, 'cannot be set in the harness');
      }
    });
    return result;
  }

  function handleInvoke(params) {
    var result = { errors: {} };
    Object.keys(params || {}).forEach(function (name) {
      var args = params[name] || [];
      if (name === 'comment.appendText' || name === 'comment.appendHtml') {
        composer.text += String(args[0] === undefined ? '' : args[0]);
        renderComposer();
      } else if (name === 'resize') {
        var size = args[0] || {};
        if (size.height) { frame.style.height = /^\d+$/.test(String(size.height)) ? size.height + 'px' : String(size.height); }
      } else if (name === 'routeTo') {
        routes.push(args.slice());
        if (args[0] === 'ticket' && args[1]) { window.setTimeout(function () { openTicket(Number(args[1])); }, 0); }
      } else if (name === 'ticket.tags.add') {
        var add = Array.isArray(args[0]) ? args[0] : args;
        add.forEach(function (tag) { if (formTags.indexOf(String(tag)) === -1) { formTags.push(String(tag)); } });
        renderTags();
      } else {
        result.errors[name] = apiError(name, 'is not supported by the harness');
      }
    });
    return result;
  }

  function xhrLike(outcome) {
    var json = null;
    try { json = outcome.responseText ? JSON.parse(outcome.responseText) : null; } catch (e) { json = null; }
    var like = {
      status: outcome.status, statusText: outcome.statusText,
      responseText: outcome.responseText, headers: outcome.headers || {}
    };
    if (json !== null) { like.responseJSON = json; }
    return like;
  }

  // harness.delays: [{type, suffix, ms}] holds matching answers back (a slow backend answer:
  // what it says is read now, it reaches the app this much later).
  function requestDelay(options) {
    var url = String((options && options.url) || '');
    var type = String((options && options.type) || 'GET').toUpperCase();
    return (harness.delays || []).filter(function (d) {
      return d.type === type && url.slice(-d.suffix.length) === d.suffix;
    }).reduce(function (total, d) { return total + d.ms; }, 0);
  }

  // client.request: forward to the harness's stand-in for Zendesk's proxy.
  function handleRequest(key, options) {
    record('app', 'request', { key: key, url: options && options.url, type: options && options.type });
    var delay = requestDelay(options);
    getJson('/proxy', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ options: options || {} })
    }).then(function (outcome) {
      return new Promise(function (resolve) { window.setTimeout(function () { resolve(outcome); }, delay); });
    }).then(function (outcome) {
      var like = xhrLike(outcome);
      record('host', 'response', { key: key, status: outcome.status });
      if (outcome.status >= 200 && outcome.status < 300) {
        var data = like.responseJSON !== undefined ? like.responseJSON : outcome.responseText;
        if (options && options.httpCompleteResponse) { data = like; }
        var answer = function () {
          post({ key: 'zaf.' + key + '.done', message: { responseArgs: [data, 'success', like] } });
        };
        if (isTicketWrite(options, data) && harness.updateBeforeAnswerMs > 0) {
          // Zendesk's push of the write (ticket.updated) can reach the app before the
          // proxy's answer does: fire it first, answer this many ms later.
          receiveOutsideUpdate().then(function () {
            window.setTimeout(answer, harness.updateBeforeAnswerMs);
          });
        } else {
          answer();
          if (isTicketWrite(options, data)) { receiveOutsideUpdate(); }
        }
      } else {
        post({ key: 'zaf.' + key + '.fail', message: { responseArgs: [like, 'error', outcome.statusText] } });
      }
    }, function (error) {
      var like = { status: 0, statusText: 'error', responseText: String(error.message || error), headers: {} };
      post({ key: 'zaf.' + key + '.fail', message: { responseArgs: [like, 'error', like.statusText] } });
    });
  }

  // Did this request write the open ticket (the backend's apply)? Zendesk then pushes the
  // new ticket state to every open workspace.
  function isTicketWrite(options, data) {
    var method = String((options && (options.type || options.method)) || 'GET').toUpperCase();
    return !!ticket && method === 'POST' && /\/apply$/.test(String(options.url || '')) &&
      !!data && data.applied === true;
  }

  // Someone else saved the ticket: reload the saved state; unsaved edits stay in the form.
  function receiveOutsideUpdate() {
    return getJson('/harness/api/tickets/' + ticket.id).then(function (data) {
      ticket = data.ticket;
      (ticket.tags || []).forEach(function (tag) { if (formTags.indexOf(tag) === -1) { formTags.push(tag); } });
      Object.keys(form).forEach(function (id) { if (same(form[id], customValue(Number(id)))) { delete form[id]; } });
      renderTicket();
      return loadComments(ticket.id);
    }).then(function () {
      fire('ticket.updated', { updatedBy: { id: 2, name: 'Guidepost' } });
    });
  }

  function onMessage(event) {
    if (!frame || event.source !== frame.contentWindow || event.origin !== appOrigin) { return; }
    var data = event.data;
    if (typeof data === 'string') {
      try { data = JSON.parse(data); } catch (e) { return; }
    }
    if (!data || (data.appGuid && data.appGuid !== appGuid)) { return; }
    var key = data.key || '';
    if (key === 'iframe.handshake') {
      record('app', 'handshake', data.message);
      post({ key: 'zaf.app.registered', message: { context: context(), metadata: metadata() } });
      harness.registered = true;
      record('host', 'app.registered', { ticketId: ticket && ticket.id });
    } else if (data.request) {
      var result;
      if (data.request === 'get') { result = handleGet(data.params); } else if (data.request === 'set') { result = handleSet(data.params); } else if (data.request === 'invoke') { result = handleInvoke(data.params); } else { result = { errors: { request: apiError(data.request, 'unknown request') } }; }
      record('app', data.request, data.params);
      post({ id: data.id, result: result });
    } else if (key.indexOf('iframe.on:') === 0) {
      subscriptions[key.slice('iframe.on:'.length)] = (data.message && data.message.subscriberCount) || 1;
    } else if (key.indexOf('iframe.off:') === 0) {
      subscriptions[key.slice('iframe.off:'.length)] = (data.message && data.message.subscriberCount) || 0;
    } else if (key.indexOf('iframe.reply:') === 0) {
      var name = key.slice('iframe.reply:'.length);
      record('app', 'reply', { event: name, error: data.error || null });
      (replyWaiters[name] || []).forEach(function (resolve) { resolve(data); });
      delete replyWaiters[name];
    } else if (/^request:\d+$/.test(key)) {
      handleRequest(key, data.message);
    } else {
      record('app', 'message', data);
    }
  }

  // Fire a ZAF event at the app; with needsReply, resolve when the app answers (or after 2 s).
  function fire(name, message, needsReply) {
    record('host', 'event', { name: name, message: message === undefined ? null : message });
    post({ key: 'zaf.' + name, message: message, needsReply: !!needsReply });
    if (!needsReply) { return Promise.resolve(null); }
    return new Promise(function (resolve) {
      (replyWaiters[name] = replyWaiters[name] || []).push(resolve);
      window.setTimeout(function () { resolve(null); }, 2000);
    });
  }

  // ---------------------------------------------------------------- ticket view

  function fieldMap() { return (guides && guides.field_map) || {}; }

  function fieldGroups() {
    var map = fieldMap();
    var info = (guides && guides.fields) || {};
    var counts = {};
    var list = (guides && guides.guides) || [];
    list.forEach(function (guide) { guide.fields.forEach(function (key) { counts[key] = (counts[key] || 0) + 1; }); });
    var usable = function (key) { return map[key] !== undefined && info[key] && info[key].zendesk !== false; };
    var shown = {};
    var groups = [];
    var common = ['consult_type'].concat(Object.keys(counts).filter(function (key) { return counts[key] > 1; }))
      .filter(function (key) { if (shown[key] || !usable(key)) { return false; } shown[key] = true; return true; });
    groups.push({ title: lang() === 'ko' ? '공통' : 'Common', keys: common });
    list.forEach(function (guide) {
      var keys = guide.fields.filter(function (key) { if (shown[key] || !usable(key)) { return false; } shown[key] = true; return true; });
      groups.push({ title: label(guide.title), keys: keys });
    });
    var rest = Object.keys(info).filter(function (key) { return !shown[key] && usable(key); });
    if (rest.length) { groups.push({ title: 'Other', keys: rest }); }
    return groups;
  }

  function optionValue(key, fieldId, code) {
    var wanted = 'gp_' + key + '_' + code;
    var options = optionValues[fieldId] || [];
    for (var i = 0; i < options.length; i++) { if (options[i].value === wanted) { return wanted; } }
    for (var j = 0; j < options.length; j++) { if (String(options[j].value).slice(-code.length - 1) === '_' + code) { return options[j].value; } }
    return wanted;
  }

  function fieldInput(key) {
    var info = guides.fields[key];
    var id = fieldMap()[key];
    var value = formValue(id);
    var inputId = 'field-' + key;
    var input;
    if (info.type === 'dropdown' || info.type === 'tristate') {
      input = el('select', { className: 'c-field__input c-field__input--select', attrs: { id: inputId } });
      input.appendChild(el('option', { text: '—', attrs: { value: '' } }));
      var codes = info.type === 'tristate' ? { yes: { ko: '예', en: 'Yes' }, no: { ko: '아니오', en: 'No' } } : info.options;
      var known = false;
      Object.keys(codes).forEach(function (code) {
        var optionVal = optionValue(key, id, code);
        if (optionVal === value) { known = true; }
        input.appendChild(el('option', { text: label(codes[code]), attrs: { value: optionVal, 'data-code': code } }));
      });
      if (value !== null && value !== undefined && value !== '' && !known) {
        input.appendChild(el('option', { text: String(value), attrs: { value: String(value) } }));
      }
      input.value = value === null || value === undefined ? '' : String(value);
    } else {
      input = el('input', { className: 'c-field__input', attrs: { id: inputId, type: 'text', autocomplete: 'off' } });
      input.value = value === null || value === undefined ? '' : String(value);
    }
    input.setAttribute('data-field-key', key);
    input.setAttribute('data-field-id', String(id));
    input.addEventListener('change', function () { editField(id, input.value); });
    return el('div', { className: 'c-field c-field--compact hz-field' }, [
      el('label', { className: 'c-field__label', text: label(info.label) + ' ', attrs: { for: inputId } },
        [el('code', { className: 'hz-key', text: key })]),
      input
    ]);
  }

  function renderTags() {
    var box = document.getElementById('ticket-tags');
    if (!box) { return; }
    clear(box);
    formTags.forEach(function (tag) { box.appendChild(el('li', { className: 'hz-tag', text: tag })); });
  }

  function renderComposer() {
    var area = document.getElementById('composer');
    var type = document.getElementById('composer-type');
    if (area) { area.value = composer.text; }
    if (type) {
      type.textContent = composer.type === 'internalNote' ? 'Internal note' : 'Public reply';
      type.className = 'hz-badge ' + (composer.type === 'internalNote' ? 'hz-badge--note' : 'hz-badge--public');
    }
  }

  function renderComments() {
    var box = document.getElementById('ticket-comments');
    if (!box) { return; }
    clear(box);
    comments.forEach(function (comment) {
      box.appendChild(el('li', { className: 'hz-comment' + (comment.public ? '' : ' hz-comment--internal'), attrs: { 'data-comment-id': comment.id, 'data-public': comment.public ? 'true' : 'false' } }, [
        el('div', { className: 'hz-comment__meta' }, [
          el('span', { className: 'hz-badge ' + (comment.public ? 'hz-badge--public' : 'hz-badge--note'), text: comment.public ? 'Public' : 'Internal note' }),
          ' ',
          el('span', { className: 'hz-muted', text: comment.created_at || '' })
        ]),
        el('div', { className: 'hz-comment__body', text: comment.plain_body || comment.body || '' })
      ]));
    });
  }

  function renderTicket() {
    var root = document.getElementById('ticket');
    clear(root);
    if (!ticket) { root.appendChild(el('p', { className: 'hz-muted', text: 'No ticket selected.' })); return; }
    var form = el('form', { className: 'hz-fields', attrs: { id: 'fields-form', 'aria-label': 'Guidepost fields' },
      on: { submit: function (event) { event.preventDefault(); saveFields(); } } });
    fieldGroups().forEach(function (group) {
      if (!group.keys.length) { return; }
      form.appendChild(el('fieldset', { className: 'hz-fieldset' }, [el('legend', { text: group.title })].concat(group.keys.map(fieldInput))));
    });
    form.appendChild(el('div', { className: 'hz-save' }, [
      el('button', { className: 'c-btn c-btn--primary', text: 'Submit (save fields)', attrs: { type: 'submit', id: 'save-ticket' } }),
      el('span', { className: 'hz-muted', attrs: { id: 'save-status', role: 'status' } }),
      el('span', { className: 'hz-unsaved-count', attrs: { id: 'dirty-status' } })
    ]));
    root.appendChild(el('header', { className: 'hz-ticket__head' }, [
      el('h1', { className: 'hz-ticket__title', attrs: { id: 'ticket-title' } }, [
        el('span', { className: 'hz-muted', text: '#' + ticket.id + ' ' }), el('span', { text: ticket.subject || '' })
      ]),
      el('p', { className: 'hz-muted', text: 'status ' + (ticket.status || '') + ' · updated ' + (ticket.updated_at || '') })
    ]));
    root.appendChild(el('div', { className: 'hz-description', text: ticket.description || '' }));
    root.appendChild(el('h2', { text: 'Tags' }));
    root.appendChild(el('ul', { className: 'hz-tags', attrs: { id: 'ticket-tags' } }));
    root.appendChild(el('h2', { text: 'Fields' }));
    root.appendChild(form);
    root.appendChild(el('h2', { text: 'Comment' }));
    root.appendChild(el('div', { className: 'hz-composer' }, [
      el('span', { attrs: { id: 'composer-type' } }),
      el('label', { className: 'hz-sr-only', text: 'Comment text', attrs: { for: 'composer' } }),
      el('textarea', { className: 'c-field__input c-field__input--area', attrs: { id: 'composer', rows: '6' },
        on: { input: function (event) { composer.text = event.target.value; } } })
    ]));
    root.appendChild(el('h2', { text: 'Conversation' }));
    root.appendChild(el('ol', { className: 'hz-comments', attrs: { id: 'ticket-comments' } }));
    renderTags();
    renderComposer();
    renderComments();
    renderDirty();
  }

  function renderTicketList() {
    var list = document.getElementById('ticket-list');
    clear(list);
    tickets.forEach(function (item) {
      var current = ticket && ticket.id === item.id;
      list.appendChild(el('li', {}, [
        el('button', {
          className: 'hz-ticket-link' + (current ? ' is-current' : ''),
          attrs: { type: 'button', 'data-ticket-id': item.id, 'aria-current': current ? 'true' : 'false' },
          on: { click: function () { openTicket(item.id); } }
        }, [el('span', { className: 'hz-muted', text: '#' + item.id + ' ' }), el('span', { text: item.subject || '' })])
      ]));
    });
  }

  function loadComments(id) {
    return getJson('/harness/api/tickets/' + id + '/comments').then(function (data) {
      comments = (data && data.comments) || [];
      renderComments();
    });
  }

  function openTicket(id) {
    harness.ready = false;
    return getJson('/harness/api/tickets/' + id).then(function (data) {
      ticket = data.ticket;
      form = {};
      formTags.length = 0;
      (ticket.tags || []).forEach(function (tag) { formTags.push(tag); });
      composer.type = 'publicReply';
      composer.text = '';
      var url = new URL(window.location.href);
      url.searchParams.set('ticket', String(id));
      window.history.replaceState(null, '', url.toString());
      renderTicketList();
      renderTicket();
      return Promise.all([mountApp(), loadComments(id)]);
    }).then(function () {
      harness.ready = true;
    });
  }

  function reloadTicket() {
    return getJson('/harness/api/tickets/' + ticket.id).then(function (data) {
      ticket = data.ticket;
      (ticket.tags || []).forEach(function (tag) { if (formTags.indexOf(tag) === -1) { formTags.push(tag); } });
      renderTicket();
      return loadComments(ticket.id);
    });
  }

  // Save the edited fields: ticket.save hook, write to the emulator, then the change events
  // for each changed custom field and ticket.saved, as the app sees them in Zendesk.
  function saveFields() {
    var status = document.getElementById('save-status');
    var changes = [];
    document.querySelectorAll('#fields-form [data-field-id]').forEach(function (input) {
      var id = Number(input.getAttribute('data-field-id'));
      var value = input.value === '' ? null : input.value;
      if (!same(formValue(id), value)) { editField(id, value); } // typed but not yet blurred
    });
    dirtyFields().forEach(function (id) { changes.push({ id: id, value: form[id] }); });
    if (!changes.length) { status.textContent = 'Nothing changed.'; return Promise.resolve([]); }
    status.textContent = 'Saving…';
    harness.ready = false;
    return fire('ticket.save', null, true).then(function () {
      return getJson('/harness/api/tickets/' + ticket.id, {
        method: 'PUT', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ticket: { custom_fields: changes } })
      });
    }).then(function () {
      return reloadTicket();
    }).then(function () {
      form = {};
      renderDirty();
      fire('ticket.saved', { ticket: { id: ticket.id } });
      document.getElementById('save-status').textContent = 'Saved ' + changes.length + ' field(s).';
      harness.ready = true;
      return changes;
    }, function (error) {
      document.getElementById('save-status').textContent = 'Save failed: ' + error.message;
      harness.ready = true;
      throw error;
    });
  }

  // ---------------------------------------------------------------- admin settings

  function setupSettings() {
    var form = document.getElementById('settings-form');
    document.getElementById('setting-backend_url').value = cfg.settings.backend_url || '';
    document.getElementById('setting-locale').value = lang() === 'ko' ? 'ko' : 'en-US';
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var body = { backend_url: document.getElementById('setting-backend_url').value };
      var secret = document.getElementById('setting-shared_secret').value;
      if (secret) { body.shared_secret = secret; }
      locale = document.getElementById('setting-locale').value;
      getJson('/harness/settings', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
      }).then(function (data) {
        cfg.settings = data.settings;
        document.getElementById('setting-shared_secret').value = '';
        document.getElementById('settings-status').textContent = 'Saved; the app was reloaded.';
        if (ticket) { mountApp(); }
      }, function (error) {
        document.getElementById('settings-status').textContent = 'Failed: ' + error.message;
      });
    });
  }

  // ---------------------------------------------------------------- start

  function start() {
    // ?apps=only: just the apps panel, as wide as the window (a sidebar-sized screen)
    if (params.get('apps') === 'only') { document.documentElement.classList.add('hz-apps-only'); }
    document.documentElement.setAttribute('data-color-scheme', colorScheme);
    window.addEventListener('message', onMessage);
    getJson('/harness/config.json').then(function (config) {
      cfg = config;
      setupSettings();
      return Promise.all([
        getJson('/harness/api/guides').catch(function (error) { record('host', 'guides-error', error.message); return null; }),
        getJson('/harness/api/ticket_fields').catch(function () { return { ticket_fields: [] }; }),
        getJson('/harness/api/tickets')
      ]);
    }).then(function (results) {
      guides = results[0] || { guides: [], fields: {}, field_map: {} };
      ((results[1] && results[1].ticket_fields) || []).forEach(function (field) {
        optionValues[field.id] = field.custom_field_options || [];
      });
      tickets = (results[2] && results[2].tickets) || [];
      renderTicketList();
      var wanted = Number(params.get('ticket'));
      var first = wanted || (tickets[0] && tickets[0].id);
      if (first) { return openTicket(first); }
      renderTicket();
      harness.ready = true;
      return null;
    }).catch(function (error) {
      var root = document.getElementById('ticket');
      clear(root);
      root.appendChild(el('p', { className: 'hz-error', text: 'Harness failed to start: ' + error.message }));
    });
  }

  start();
}());
