// Shared by the shopper page and the operator dashboard: strings in two
// languages, the language switch, formatting and a small DOM builder.
// Plain ES2017, no dependencies; loaded with defer before the page's script.
'use strict';

window.LA = (function () {
  var I18N = JSON.parse(document.getElementById('i18n').textContent);
  var KEY = 'lookalike.lang';
  var COOKIE = 'lookalike_lang';
  var listeners = [];
  var lang = initialLang();

  function stored() {
    try { return localStorage.getItem(KEY); } catch (e) { return null; }
  }

  // The visitor's own choice first, then the language the server picked
  // from Accept-Language, then the browser's list.
  function initialLang() {
    var s = stored();
    if (s && I18N[s]) return s;
    var h = document.documentElement.lang;
    if (I18N[h]) return h;
    var list = navigator.languages || [navigator.language || ''];
    for (var i = 0; i < list.length; i++) {
      var p = String(list[i]).toLowerCase().split('-')[0];
      if (p === 'kk') p = 'ru';
      if (I18N[p]) return p;
    }
    return Object.keys(I18N)[0];
  }

  // t returns the string for key with {name} placeholders filled in.
  function t(key, vars) {
    var s = (I18N[lang] && I18N[lang][key]) || I18N.ru[key] || key;
    if (vars) {
      s = s.replace(/\{(\w+)\}/g, function (m, name) {
        return Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m;
      });
    }
    return s;
  }

  // apply translates the static parts of the page.
  function apply(root) {
    root = root || document;
    root.querySelectorAll('[data-i18n]').forEach(function (el) { el.textContent = t(el.dataset.i18n); });
    root.querySelectorAll('[data-i18n-placeholder]').forEach(function (el) { el.placeholder = t(el.dataset.i18nPlaceholder); });
    root.querySelectorAll('[data-i18n-aria-label]').forEach(function (el) { el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel)); });
    document.documentElement.lang = lang;
    document.querySelectorAll('.lang [data-lang]').forEach(function (b) {
      b.setAttribute('aria-pressed', String(b.dataset.lang === lang));
    });
  }

  function setLang(l) {
    if (!I18N[l] || l === lang) return;
    lang = l;
    try { localStorage.setItem(KEY, l); } catch (e) { /* private mode */ }
    // So that the server renders the next page in this language at once.
    document.cookie = COOKIE + '=' + l + '; path=/; max-age=31536000; SameSite=Lax';
    apply(document);
    listeners.forEach(function (fn) { fn(l); });
  }

  document.querySelectorAll('.lang [data-lang]').forEach(function (b) {
    b.addEventListener('click', function () { setLang(b.dataset.lang); });
  });
  if (lang !== document.documentElement.lang) apply(document);

  // el builds an element: el('p', {className: 'x', text: 'hi'}, child, ...).
  function el(tag, props) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === undefined || v === null || v === false) return;
        if (k === 'text') node.textContent = v;
        else if (k === 'className') node.className = v;
        else if (k === 'on') Object.keys(v).forEach(function (ev) { node.addEventListener(ev, v[ev]); });
        else if (k in node && typeof v !== 'string') node[k] = v;
        else node.setAttribute(k, v === true ? '' : v);
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return node;
  }

  var NBSP = '\u00a0';
  var SYMBOLS = { KZT: '₸', RUB: '₽', USD: '$', EUR: '€' };

  function group(digits) {
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, NBSP);
  }

  // ISO 4217 currencies whose amounts do not have two decimals (as in
  // catalog/currency.go).
  var DECIMALS = {
    BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0,
    VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
    BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3, CLF: 4, UYW: 4
  };

  // money formats 2500 as "2 500 ₸" and 5000.5 as "5 000,50 ₸" (the spaces
  // are non-breaking, so a price never wraps).
  function money(v, currency) {
    if (v === null || v === undefined || isNaN(v)) return '';
    var neg = v < 0;
    var exp = DECIMALS[currency] === undefined ? 2 : DECIMALS[currency];
    var unit = Math.pow(10, exp);
    var minor = Math.round(Math.abs(v) * unit);
    var s = group(String(Math.floor(minor / unit)));
    if (minor % unit) s += ',' + String(minor % unit).padStart(exp, '0');
    return (neg ? '−' : '') + s + NBSP + (SYMBOLS[currency] || currency || '₸');
  }

  function number(v) {
    if (v === null || v === undefined) return '';
    return Number(v).toLocaleString(lang === 'ru' ? 'ru-RU' : 'en-GB', { maximumFractionDigits: 1 }).replace(/\s/g, NBSP);
  }

  function height(cm) {
    return cm ? t('result.height', { h: number(cm) }).replace(' ', NBSP) : '';
  }

  function percent(score) {
    return Math.round(Math.max(0, Math.min(1, Number(score) || 0)) * 100) + '%';
  }

  function dateTime(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    if (isNaN(d)) return String(iso);
    return new Intl.DateTimeFormat(lang === 'ru' ? 'ru-RU' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' }).format(d);
  }

  function time(d) {
    return new Intl.DateTimeFormat(lang === 'ru' ? 'ru-RU' : 'en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(d);
  }

  // request calls the API and never throws: it resolves to
  // {ok, status, body, retryAfter} or {network: true} or {aborted: true}.
  function request(path, opts) {
    return fetch(path, Object.assign({ credentials: 'same-origin', cache: 'no-store' }, opts || {})).then(function (resp) {
      return resp.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        return {
          ok: resp.ok, status: resp.status, body: body,
          retryAfter: parseInt(resp.headers.get('Retry-After') || '', 10) || 0,
          message: (body && body.error) || ''
        };
      });
    }, function (err) {
      if (err && err.name === 'AbortError') return { aborted: true };
      return { network: true, message: String(err) };
    });
  }

  return {
    t: t, apply: apply, el: el, money: money, number: number, height: height, percent: percent,
    dateTime: dateTime, time: time, request: request,
    lang: function () { return lang; },
    onLang: function (fn) { listeners.push(fn); }
  };
})();
