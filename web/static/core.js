// What the pages' scripts share that needs no page of its own: strings in
// several languages, a small DOM builder, formatting and API requests. The
// shopper's page and the dashboard use it through common.js; the widget
// (/widget.js, on a shop's own site) has it inside. Plain ES2017.
'use strict';

// The one namespace of the shared code: a global on lookalike's pages, a
// variable of /widget.js's own function scope on a shop's site (hoisted
// there, so it starts out undefined too and the shop's page gains nothing).
var LOOKALIKE = typeof LOOKALIKE === 'object' && LOOKALIKE ? LOOKALIKE : {};

// core returns the helpers for strings dict ({ru: {key: text}, en: …}) in
// the language getLang() names (Russian where a string is missing).
LOOKALIKE.core = function (dict, getLang) {
  var LOCALES = { ru: 'ru-RU', en: 'en-GB', kk: 'kk-KZ' };
  function locale() { return LOCALES[getLang()] || 'en-GB'; }

  // t returns the string for key with {name} placeholders filled in.
  function t(key, vars) {
    var s = (dict[getLang()] && dict[getLang()][key]) || dict.ru[key] || key;
    if (vars) {
      s = s.replace(/\{(\w+)\}/g, function (m, name) {
        return Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m;
      });
    }
    return s;
  }

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
    return Number(v).toLocaleString(locale(), { maximumFractionDigits: 1 }).replace(/\s/g, NBSP);
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
    return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(d);
  }

  function time(d) {
    return new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(d);
  }

  // request calls the API and never throws: it resolves to
  // {ok, status, body, retryAfter} or {network: true} or {aborted: true}.
  // Cookies go only to the page's own origin.
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
    t: t, el: el, money: money, number: number, height: height, percent: percent,
    dateTime: dateTime, time: time, request: request, lang: getLang
  };
};
