// The widget: <script src="…/widget.js" data-shop="8"> (from lookalike)
// on any page of the shop's site adds a "find by photo" button that opens a
// dialog to upload or take a photo, draw a box around the bouquet, and see
// the same or similar bouquets, each linking to its page. It is the custom
// element <lookalike-search> with everything inside a shadow root (the
// page's CSS cannot reach in, the widget's cannot reach out); it talks only
// to the origin it was loaded from (which must list the page's origin in
// LOOKALIKE_ALLOWED_ORIGINS). The script tag's data-shop, data-lang
// (ru, en, kk; else the page's <html lang>) and data-min-band (exact,
// similar; default: every band, the closest few when nothing is alike) may
// also be given as attributes shop, lang and min-band of an element placed
// by hand. WIDGET (strings, stylesheet, brand) is put in by the server.

var SCRIPT = document.currentScript;
var API = SCRIPT && SCRIPT.src ? new URL(SCRIPT.src).origin : location.origin;
var LIMIT = 24;

function option(host, name) {
  return host.getAttribute(name) || (SCRIPT && SCRIPT.getAttribute('data-' + name)) || '';
}

// language: the element's or the script's choice, else the page's nearest
// lang attribute, else the browser's; Belarusian and Ukrainian read Russian.
function language(host) {
  var cands = [option(host, 'lang')];
  var near = host.closest('[lang]');
  if (near) cands.push(near.getAttribute('lang'));
  cands = cands.concat(navigator.languages || [navigator.language || '']);
  for (var i = 0; i < cands.length; i++) {
    var p = String(cands[i] || '').toLowerCase().split('-')[0];
    if (p === 'be' || p === 'uk') p = 'ru';
    if (WIDGET.i18n[p]) return p;
  }
  return 'ru';
}

var ICON = 'M4 5h3l2-2h6l2 2h3a1 1 0 0 1 1 1v12a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1zm8 3.5a4.5 4.5 0 1 0 0 9 4.5 4.5 0 0 0 0-9zm0 2a2.5 2.5 0 1 1 0 5 2.5 2.5 0 0 1 0-5z';

function svgIcon() {
  var NS = 'http://www.w3.org/2000/svg';
  var svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  var path = document.createElementNS(NS, 'path');
  path.setAttribute('d', ICON);
  svg.appendChild(path);
  return svg;
}

var sheet = null; // one constructed stylesheet for every element (no inline <style>, which a page's CSP may forbid)
function styles(root) {
  if ('adoptedStyleSheets' in root && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(WIDGET.css);
    }
    root.adoptedStyleSheets = [sheet];
    return;
  }
  var s = document.createElement('style');
  s.textContent = WIDGET.css;
  root.appendChild(s);
}

function Widget(host) {
  var lang = language(host);
  var LA = LOOKALIKE.core(WIDGET.i18n, function () { return lang; });
  var t = LA.t, el = LA.el, S = LOOKALIKE;
  var shop = /^[1-9]\d*$/.test(option(host, 'shop')) ? option(host, 'shop') : '';
  var minBand = option(host, 'min-band');
  var brand = WIDGET.brand || {};

  var root = host.attachShadow({ mode: 'open' });
  styles(root);

  var fileInput = el('input', { type: 'file', id: 'file', className: 'vh', accept: 'image/*' });
  var camera = el('input', { type: 'file', id: 'camera', className: 'vh', accept: 'image/*', capture: 'environment' });
  var cropImg = el('img', { alt: '', draggable: 'false' });
  var cropBox = el('div', { className: 'crop-box', hidden: true },
    el('span', { 'data-h': 'nw' }), el('span', { 'data-h': 'ne' }), el('span', { 'data-h': 'sw' }), el('span', { 'data-h': 'se' }));
  var cropArea = el('div', { className: 'crop-area', tabindex: '0', role: 'application', 'aria-roledescription': 'crop box', 'aria-label': t('crop.keys') }, cropImg, cropBox);
  var cropReset = el('button', { type: 'button', className: 'btn btn-small btn-secondary', text: t('crop.reset'), hidden: true });
  var cropSec = el('section', { className: 'crop', hidden: true },
    el('p', { className: 'hint', text: t('crop.hint') }), cropArea, cropReset);
  var errorMsg = el('p');
  var retryBtn = el('button', { type: 'button', className: 'btn btn-small', text: t('error.retry'), hidden: true });
  var errorBox = el('div', { className: 'error', role: 'alert', hidden: true }, errorMsg, retryBtn);
  var statusEl = el('p', { className: 'status', role: 'status', 'aria-live': 'polite', text: t('widget.empty') });
  var closestEl = el('h3', { className: 'closest', text: t('results.closest'), hidden: true });
  var grid = el('ul', { className: 'grid' });
  var moreBtn = el('button', { type: 'button', className: 'btn btn-secondary show-more', text: t('results.more'), hidden: true });
  var results = el('section', { className: 'results', 'data-state': 'empty', 'aria-busy': 'false' }, statusEl, closestEl, grid, moreBtn);
  var close = el('button', { type: 'button', className: 'close', 'aria-label': t('widget.close'), text: '×' });
  var title = el('h2', { id: 'title', text: brand.name || t('widget.title') });
  var dialog = el('dialog', { className: 'panel', 'aria-labelledby': 'title' },
    el('header', { className: 'head' },
      brand.logo ? el('img', { className: 'logo', src: brand.logo, alt: '', width: '28', height: '28' }) : null,
      title, close),
    el('div', { className: 'body' },
      el('div', { className: 'pick' },
        fileInput, el('label', { htmlFor: 'file', className: 'btn' }, svgIcon(), t('drop.title')),
        camera, el('label', { htmlFor: 'camera', className: 'btn btn-secondary camera', text: t('drop.camera') })),
      cropSec, errorBox, results));
  var openBtn = el('button', { type: 'button', className: 'open', part: 'button', 'aria-haspopup': 'dialog' }, svgIcon(), t('widget.button'));
  root.appendChild(el('div', { className: 'root', lang: lang }, openBtn, dialog));

  var last = null;     // {blob, name, url}
  var found = null;    // the results so far
  var nextOffset = null;
  var inflight = null;
  var seq = 0;

  var cropper = S.cropper({
    area: cropArea, img: cropImg, box: cropBox, reset: cropReset,
    active: function () { return !!last; },
    search: function () { run(false); }
  });

  function setState(s, text) {
    results.dataset.state = s;
    results.setAttribute('aria-busy', String(s === 'busy'));
    statusEl.textContent = text;
  }

  function showError(e) {
    if (e.busy) e = { key: 'error.busy', vars: { s: e.busy } };
    errorMsg.textContent = t(e.key, e.vars);
    retryBtn.hidden = !e.retry;
    errorBox.hidden = false;
  }

  function render() {
    var list = S.shown(found, 'relevance');
    grid.replaceChildren.apply(grid, list.map(function (r) {
      return S.card(LA, r, { base: API, sizes: '(min-width: 720px) 200px, 45vw' });
    }));
    var weak = S.onlyWeak(found);
    closestEl.hidden = !weak;
    var tail = found && found[found.length - 1];
    moreBtn.hidden = nextOffset === null || !tail || tail.band === 'weak';
    if (!found || !found.length) setState('none', t('state.none'));
    else if (weak) setState('closest', t('state.closest'));
    else setState('done', t('state.found', { n: list.length }));
  }

  function run(append) {
    if (!last) return;
    if (inflight) inflight.abort();
    var ctrl = new AbortController();
    inflight = ctrl;
    var my = ++seq;
    errorBox.hidden = true;
    setState('busy', t('state.searching'));
    var fd = new FormData();
    fd.append('image', last.blob, last.name);
    fd.append('min_band', minBand || 'any');
    fd.append('limit', String(LIMIT));
    if (shop) fd.append('shop_id', shop);
    var c = cropper.text();
    if (c) fd.append('crop', c);
    if (append && nextOffset) fd.append('offset', String(nextOffset));
    LA.request(API + '/api/v1/search', { method: 'POST', body: fd, signal: ctrl.signal, credentials: 'omit' }).then(function (r) {
      if (my !== seq || r.aborted) return;
      inflight = null;
      if (r.ok && r.body && Array.isArray(r.body.results)) {
        found = append && found ? found.concat(r.body.results) : r.body.results;
        nextOffset = typeof r.body.next_offset === 'number' ? r.body.next_offset : null;
        render();
        return;
      }
      found = null;
      nextOffset = null;
      grid.replaceChildren();
      closestEl.hidden = true;
      moreBtn.hidden = true;
      setState('error', '');
      showError(S.searchError(LA, r));
    });
  }

  function useFile(file) {
    if (!file) return;
    S.shrink(file).then(function (blob) {
      if (last) URL.revokeObjectURL(last.url);
      last = { blob: blob, name: file.name || 'photo.jpg', url: URL.createObjectURL(blob) };
      cropper.clear();
      cropImg.src = last.url;
      cropImg.alt = t('query.photo');
      cropSec.hidden = false;
      run(false);
    });
  }

  [fileInput, camera].forEach(function (input) {
    input.addEventListener('change', function () {
      useFile(input.files && input.files[0]);
      input.value = '';
    });
  });
  retryBtn.addEventListener('click', function () { run(false); });
  moreBtn.addEventListener('click', function () { run(true); });
  openBtn.addEventListener('click', function () {
    if (dialog.showModal) dialog.showModal(); else dialog.setAttribute('open', '');
  });
  close.addEventListener('click', function () {
    if (dialog.close) dialog.close(); else dialog.removeAttribute('open');
  });
  // A click on the backdrop (the dialog itself, outside its content) closes it.
  dialog.addEventListener('click', function (e) {
    if (e.target === dialog && dialog.close) dialog.close();
  });
}

if (window.customElements && !customElements.get('lookalike-search')) {
  customElements.define('lookalike-search', class extends HTMLElement {
    connectedCallback() {
      if (!this.shadowRoot) Widget(this); // eslint-disable-line new-cap
    }
  });
}

// The tag places one widget where it stands (in the body's flow), unless
// the page placed its own elements.
(function place() {
  if (document.querySelector('lookalike-search')) return;
  var w = document.createElement('lookalike-search');
  if (SCRIPT && SCRIPT.parentNode && SCRIPT.closest('body')) SCRIPT.insertAdjacentElement('afterend', w);
  else if (document.body) document.body.appendChild(w);
  else document.addEventListener('DOMContentLoaded', place, { once: true });
})();
