// Shared by the shopper page and the operator dashboard: their strings (the
// page's data block), the language switch, and core.js's helpers for them.
// Plain ES2017; loaded with defer after core.js, before the page's script.
'use strict';

window.LA = (function () {
  var I18N = JSON.parse(document.getElementById('i18n').textContent);
  var KEY = 'lookalike.lang';
  var COOKIE = 'lookalike_lang';
  var listeners = [];
  var lang = initialLang();
  var core = LOOKALIKE.core(I18N, function () { return lang; });
  var t = core.t;

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

  return Object.assign(core, {
    apply: apply,
    onLang: function (fn) { listeners.push(fn); }
  });
})();
