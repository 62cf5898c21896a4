/* Jiaozi verifier page. Reads the input (the URL fragment on /v, a paste, a file or a
   camera scan), POSTs it to /api/v1/verify and renders the JSON answer. Data is only ever
   put into the page with textContent; the QR transport decoding is the server's job. */
(function () {
  'use strict';

  var S = JSON.parse(document.getElementById('jz-strings').textContent);
  var LANG = document.documentElement.getAttribute('data-lang') === 'en' ? 'en' : 'zh';
  var out = document.getElementById('result');

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(values, k) ? String(values[k]) : m;
    });
  }

  function pad(n) { return (n < 10 ? '0' : '') + n; }

  var MONTHS_EN = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
    'September', 'October', 'November', 'December'];

  // A calendar date as every page and the PDF print it (credential.date_text):
  // 2026年6月5日, or 5 June 2026; never 2026-06-05.
  function dateText(y, m, d) {
    return LANG === 'en' ? d + ' ' + MONTHS_EN[m - 1] + ' ' + y : y + '年' + m + '月' + d + '日';
  }

  // RFC 3339 (UTC) -> Beijing time as credential.beijing_text writes it, browser zone
  // aside (UTC+8, no DST): 2026年6月5日 09:02 北京时间, or 5 June 2026 09:02 Beijing time.
  function beijing(iso) {
    var t = Date.parse(iso);
    if (isNaN(t)) { return String(iso); }
    var d = new Date(t + 8 * 3600 * 1000);
    return dateText(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()) + ' ' +
      pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ' ' + S.beijing_zone;
  }

  function day(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso));
    if (!m) { return String(iso); }
    return dateText(Number(m[1]), Number(m[2]), Number(m[3]));
  }

  // A purpose copy's expires_at is the first instant it no longer verifies (00:00 Beijing
  // the day after its last day): the page names that last day, as the copy's PDF prints it.
  function lastDay(iso) {
    var t = Date.parse(iso);
    if (isNaN(t)) { return String(iso); }
    var d = new Date(t - 1000 + 8 * 3600 * 1000);
    return day(d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()));
  }

  // How old the status data was when the server checked (its clock, not the browser's).
  function ago(asOf, checkedAt) {
    var s = (Date.parse(checkedAt) - Date.parse(asOf)) / 1000;
    if (isNaN(s)) { return ''; }
    if (s < 60) { return S.ago_now; }
    if (s < 3600) { return fmt(S.ago_minutes, { n: Math.floor(s / 60) }); }
    if (s < 172800) { return fmt(S.ago_hours, { n: Math.floor(s / 3600) }); }
    return fmt(S.ago_days, { n: Math.floor(s / 86400) });
  }

  function clear() {
    while (out.firstChild) { out.removeChild(out.firstChild); }
  }

  function show(node) {
    clear();
    out.appendChild(node);
    out.classList.remove('result--busy');
    if (out.getAttribute('data-page') === 'home' && out.scrollIntoView) {
      out.scrollIntoView({ block: 'start' });
    }
    try { out.focus({ preventScroll: true }); } catch (e) { /* old browsers */ }
  }

  function notice(text, cls) {
    var box = el('div', 'notice ' + (cls || ''));
    box.appendChild(el('p', null, text));
    return box;
  }

  var VERDICTS = { valid: 1, not_valid: 1, cannot_determine: 1 };
  var MARKS = { 'true': '✓', 'false': '✗', 'null': '–', 'na': '' };
  var GATE = ['format', 'signature', 'issuer_trusted'];
  var FIELDS = ['name', 'id_number_masked', 'qualification_name', 'subject', 'issuer',
    'certified_on', 'certificate_number', 'purpose', 'expires_at'];

  // A check the input gave nothing to make (a QR alone has no e-licence to compare it
  // with) is not a half-failure: once the gate passed, every later check ran, so a
  // binding without an outcome means one form only.
  // The photo check likewise: a QR code or pasted e-licence carries no photo, and a
  // certificate may have been issued without one; its own text says which.
  function notApplicable(c, checks) {
    if ((c.name !== 'binding' && c.name !== 'photo') || c.ok !== null) { return false; }
    return GATE.every(function (g) {
      return checks.some(function (o) { return o && o.name === g && o.ok === true; });
    });
  }

  function renderResult(r, restrictionsAsOf) {
    var verdict = VERDICTS[r.verdict] ? r.verdict : 'cannot_determine';
    var root = el('article', 'verdict-card verdict-card--' + verdict);
    root.setAttribute('data-verdict', verdict);

    var head = el('div', 'verdict verdict--' + verdict);
    head.appendChild(el('span', 'verdict__mark',
      verdict === 'valid' ? '✓' : verdict === 'not_valid' ? '✗' : '?')).setAttribute('aria-hidden', 'true');
    var words = el('div', 'verdict__words');
    words.appendChild(el('strong', 'verdict__zh', S.verdict[verdict])).setAttribute('lang', 'zh-CN');
    if (LANG === 'en' && S.verdict_en[verdict]) {
      words.appendChild(el('span', 'verdict__en', S.verdict_en[verdict]));
    }
    head.appendChild(words);
    root.appendChild(head);

    var body = el('div', 'verdict-card__body');
    var reason = r.reason && S.reasons[r.reason] ? S.reasons[r.reason] : null;
    body.appendChild(el('p', 'reason', reason || S.verdict_sentence[verdict]));
    if (reason) { body.appendChild(el('p', 'reason-sub', S.verdict_sentence[verdict])); }

    var fresh = el('p', 'fresh');
    if (r.status_as_of) {
      fresh.textContent = fmt(S.fresh, { time: beijing(r.status_as_of), ago: ago(r.status_as_of, r.checked_at) });
    } else {
      fresh.textContent = S.no_status;
    }
    body.appendChild(fresh);

    var cert = r.certificate;
    if (cert && typeof cert === 'object') {
      body.appendChild(el('h2', 'section-title', S.certificate_heading));
      // the holder's photo: only a data: URL of a JPEG, sent only when it matched the
      // digest the e-licence binds (never fetched, never stored)
      if (typeof r.photo === 'string' && r.photo.indexOf('data:image/jpeg;base64,') === 0) {
        var img = el('img', 'holder-photo');
        img.setAttribute('src', r.photo);
        img.setAttribute('alt', S.photo_alt);
        img.setAttribute('width', '118');
        img.setAttribute('height', '165');
        body.appendChild(img);
      }
      var dl = el('dl', 'fields');
      FIELDS.forEach(function (k) {
        if (cert[k] === undefined || cert[k] === null || cert[k] === '') { return; }
        var row = el('div', 'fields__row');
        row.setAttribute('data-field', k);
        row.appendChild(el('dt', null, S.fields[k]));
        var value = k === 'certified_on' ? day(cert[k]) : k === 'expires_at' ? fmt(S.last_day, { day: lastDay(cert[k]) }) : cert[k];
        row.appendChild(el('dd', k === 'name' ? 'fields__name' : null, value));
        dl.appendChild(row);
      });
      body.appendChild(dl);
    }

    if (Array.isArray(r.checks) && r.checks.length) {
      body.appendChild(el('h2', 'section-title', S.checks_heading));
      var ul = el('ul', 'checks');
      r.checks.forEach(function (c) {
        var state = c.ok === true ? 'true' : c.ok === false ? 'false' : 'null';
        if (notApplicable(c, r.checks)) { state = 'na'; }
        var kind = { 'true': 'ok', 'false': 'fail', 'null': 'skip', 'na': 'na' }[state];
        var li = el('li', 'check check--' + kind);
        li.setAttribute('data-check', String(c.name));
        li.appendChild(el('span', 'check__mark', MARKS[state])).setAttribute('aria-hidden', 'true');
        var text = el('span', 'check__text');
        text.appendChild(el('span', 'check__name', S.check_names[c.name] || S.check_other));
        var detail = state === 'na' && S.not_applicable[c.name] ? S.not_applicable[c.name] : c.detail;
        if (c.name === 'restriction' && c.ok !== null) {
          // say what was checked, and how recent that list is
          text.appendChild(el('span', 'check__what', restrictionsAsOf
            ? fmt(S.restriction_checked_as_of, { time: beijing(restrictionsAsOf) })
            : S.restriction_checked));
        }
        if (detail) { text.appendChild(el('span', 'check__detail', detail)); }
        li.appendChild(text);
        ul.appendChild(li);
      });
      body.appendChild(ul);
    }
    if (r.checked_at) { body.appendChild(el('p', 'checked-at', fmt(S.checked_at, { time: beijing(r.checked_at) }))); }
    root.appendChild(body);
    return root;
  }

  function renderProblem(p) {
    var box = el('div', 'notice notice--problem');
    box.setAttribute('data-problem', p && p.type ? String(p.type).split('/').pop() : 'error');
    box.appendChild(el('p', 'notice__title', (p && p.title) || S.problem));
    if (p && p.detail) { box.appendChild(el('p', null, p.detail)); }
    if (p && Array.isArray(p.errors)) {
      p.errors.forEach(function (e) { if (e && e.message) { box.appendChild(el('p', null, e.message)); } });
    }
    return box;
  }

  function verify(body, contentType) {
    out.classList.add('result--busy');
    clear();
    out.appendChild(notice(S.busy, 'notice--busy'));
    var headers = { 'Accept': 'application/json', 'Accept-Language': LANG === 'en' ? 'en' : 'zh-CN' };
    if (contentType) { headers['Content-Type'] = contentType; }
    // how recent the restricted list the check used is (public, no personal data); the
    // result is shown without the date if it cannot be had
    var asOf = fetch('/api/v1/sync-status', {
      headers: { 'Accept': 'application/json' }, credentials: 'same-origin',
      cache: 'no-store', referrerPolicy: 'no-referrer'
    }).then(function (resp) {
      return resp.ok ? resp.json().then(function (d) { return d && d.restrictions_as_of; }) : null;
    }).then(null, function () { return null; });
    return fetch('/api/v1/verify', {
      method: 'POST', headers: headers, body: body, credentials: 'same-origin',
      cache: 'no-store', referrerPolicy: 'no-referrer'
    }).then(function (resp) {
      return resp.json().then(function (data) {
        if (!(resp.ok && data && data.verdict)) { show(renderProblem(data)); return; }
        return asOf.then(function (when) { show(renderResult(data, when || null)); });
      }, function () { show(renderProblem(null)); });
    }, function () {
      show(notice(S.network_error, 'notice--problem'));
    });
  }

  function verifyQr(text) {
    return verify(JSON.stringify({ qr: text }), 'application/json');
  }

  // --- /v: the fragment -------------------------------------------------------------
  if (out && out.getAttribute('data-page') === 'landing') {
    var fragment = location.hash.replace(/^#/, '');
    try { fragment = decodeURIComponent(fragment); } catch (e) { /* keep as is */ }
    fragment = fragment.trim();
    var sw = document.getElementById('lang-switch');
    if (sw && location.hash) { sw.setAttribute('href', sw.getAttribute('href') + location.hash); }
    if (fragment) { verifyQr(fragment); } else { show(notice(S.no_fragment, 'notice--problem')); }
  }

  // --- /: paste, upload, camera -------------------------------------------------------
  var paste = document.getElementById('paste-form');
  if (paste) {
    paste.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var text = document.getElementById('paste-input').value.trim();
      if (!text) { show(notice(S.empty_paste, 'notice--problem')); return; }
      verifyQr(text);
    });
  }

  var upload = document.getElementById('upload-form');
  if (upload) {
    upload.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var input = document.getElementById('upload-input');
      if (!input.files || !input.files.length) { show(notice(S.empty_file, 'notice--problem')); return; }
      var form = new FormData();
      form.append('file', input.files[0]);
      verify(form, null);
    });
  }

  var scanSection = document.getElementById('scan-section');
  if (scanSection && 'BarcodeDetector' in window && navigator.mediaDevices &&
      navigator.mediaDevices.getUserMedia) {
    var check = window.BarcodeDetector.getSupportedFormats
      ? window.BarcodeDetector.getSupportedFormats() : Promise.resolve(['qr_code']);
    check.then(function (formats) {
      if (formats.indexOf('qr_code') >= 0) { setUpCamera(); }
    }, function () { /* no scanner */ });
  }

  function setUpCamera() {
    var button = document.getElementById('scan-button');
    var panel = document.getElementById('scan-panel');
    var video = document.getElementById('scan-video');
    var cancel = document.getElementById('scan-cancel');
    var stream = null;
    var timer = null;
    var detector = new window.BarcodeDetector({ formats: ['qr_code'] });

    function stop() {
      if (timer) { clearTimeout(timer); timer = null; }
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
      video.srcObject = null;
      panel.hidden = true;
      button.hidden = false;
    }

    function look() {
      if (!stream) { return; }
      detector.detect(video).then(function (codes) {
        if (!stream) { return; }
        if (codes && codes.length && codes[0].rawValue) {
          var text = codes[0].rawValue;
          stop();
          verifyQr(text);
        } else {
          timer = setTimeout(look, 250);
        }
      }, function () { timer = setTimeout(look, 500); });
    }

    scanSection.hidden = false;
    button.addEventListener('click', function () {
      navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false })
        .then(function (s) {
          stream = s;
          video.srcObject = s;
          panel.hidden = false;
          button.hidden = true;
          return video.play();
        })
        .then(look, function () { stop(); show(notice(S.camera_error, 'notice--problem')); });
    });
    cancel.addEventListener('click', stop);
  }
}());
