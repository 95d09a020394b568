// The shopper's page: a photo (chosen, dropped, pasted or taken) or words
// in, the most similar bouquets out, each linking to its page in the shop.
// The shopper can draw a box around the bouquet in the photo (mouse or
// finger: pointer events) to search just that region. Results come in
// bands ("this is it", "similar"); when none is close, the closest few show
// under their own heading. Talks to POST /api/v1/search (and
// GET /api/v1/search/info, whether text queries work) only.
'use strict';

(function () {
  var LA = window.LA;
  var t = LA.t;
  var el = LA.el;
  function $(id) { return document.getElementById(id); }

  var params = new URLSearchParams(location.search);
  var shop = /^[1-9]\d*$/.test(params.get('shop') || '') ? params.get('shop') : '';
  var LIMIT = 24;
  var S = window.LOOKALIKE; // search.js: what the widget shares

  var fileInput = $('file');
  var camera = $('camera');
  var drop = $('drop');
  var results = $('results');
  var grid = $('grid');
  var statusEl = $('status');
  var errorBox = $('error');
  var errorMsg = $('error-msg');
  var retryBtn = $('error-retry');
  var queryBox = $('query');
  var queryImg = $('query-img');
  var queryLabel = $('query-label');
  var priceMin = $('price-min');
  var priceMax = $('price-max');
  var avail = $('available');
  var heightMin = $('height-min');
  var heightMax = $('height-max');
  var sortSel = $('sort');
  var closestEl = $('closest');
  var moreBtn = $('more');
  var cropSec = $('crop');
  var cropArea = $('crop-area');
  var cropImg = $('crop-img');
  var cropBox = $('crop-box');
  var cropReset = $('crop-reset');
  var textForm = $('textform');
  var textInput = $('text');

  var last = null;        // {kind: 'image', blob, name, url} | {kind: 'product', id, shop, title, sha} | {kind: 'text', text}
  var lastResults = null; // results of the last answered search, and of its "show more" pages
  var nextOffset = null;  // where the next page starts; null: no more
  var lastError = null;   // {key, vars, retry}
  var inflight = null;    // AbortController of the search in flight
  var debounce = null;
  var seq = 0;
  var countdown = null;
  var ranWith = '';       // the filters of the last search, to skip a repeat

  // ---- states ----

  function setState(s) {
    results.dataset.state = s;
    results.setAttribute('aria-busy', String(s === 'busy'));
    renderStatus();
  }

  function renderStatus() {
    var s = results.dataset.state;
    var text = '';
    if (s === 'empty') text = t('state.empty');
    else if (s === 'busy') text = t('state.searching');
    else if (s === 'none') text = t('state.none');
    else if (s === 'closest') text = t('state.closest');
    else if (s === 'done') text = t('state.found', { n: shown().length });
    statusEl.textContent = text;
  }

  function showError(key, vars, retry) {
    lastError = { key: key, vars: vars || {}, retry: !!retry };
    renderError();
  }

  function renderError() {
    if (!lastError) {
      errorBox.hidden = true;
      return;
    }
    errorMsg.textContent = t(lastError.key, lastError.vars);
    retryBtn.hidden = !lastError.retry;
    errorBox.hidden = false;
  }

  function clearError() {
    lastError = null;
    if (countdown) clearInterval(countdown);
    countdown = null;
    renderError();
  }

  // ---- rendering ----

  function renderQuery() {
    if (!last) {
      queryBox.hidden = true;
      return;
    }
    queryBox.hidden = false;
    if (last.kind === 'image') {
      queryImg.hidden = true; // the photo shows in the crop box below
      queryImg.removeAttribute('src');
      queryLabel.textContent = t('query.photo');
    } else if (last.kind === 'product') {
      queryImg.hidden = !last.sha;
      if (last.sha) queryImg.src = '/images/' + last.sha + '?w=160';
      queryImg.alt = last.title || '';
      queryLabel.textContent = t('query.like', { title: last.title || '#' + last.id });
    } else {
      queryImg.hidden = true;
      queryImg.removeAttribute('src');
      queryLabel.textContent = t('query.text', { text: last.text });
    }
  }

  function card(r) { return S.card(LA, r, { more: moreLike }); }
  function shown() { return S.shown(lastResults, sortSel.value); }
  function onlyWeak() { return S.onlyWeak(lastResults); }

  function renderResults() {
    grid.replaceChildren.apply(grid, shown().map(card));
    closestEl.hidden = !onlyWeak();
    // More pages are worth asking for while this one ended in close results.
    var tail = lastResults && lastResults[lastResults.length - 1];
    moreBtn.hidden = nextOffset === null || !tail || tail.band === 'weak';
  }

  // ---- searching ----

  // filterValues are the search's filters. "In stock" is the server's
  // default, which also lists a sold-out exact match first, so it is not
  // sent; every band comes back and the page decides what to show.
  function filterValues() {
    var f = { min_band: 'any' };
    if (avail.value !== 'true') f.available = avail.value;
    [[priceMin, 'price_min'], [priceMax, 'price_max'], [heightMin, 'height_min'], [heightMax, 'height_max']].forEach(function (p) {
      var v = p[0].value.trim();
      if (v !== '' && Number(v) >= 0) f[p[1]] = v;
    });
    return f;
  }

  // run searches for q; with append, the next page of the same search.
  function run(q, append) {
    if (inflight) inflight.abort();
    var ctrl = new AbortController();
    inflight = ctrl;
    var my = ++seq;
    var fresh = last !== q && q.kind === 'image';
    last = q;
    clearError();
    renderQuery();
    renderCrop();
    setState('busy');

    var f = filterValues();
    ranWith = JSON.stringify(f);
    var badRange = f.price_min !== undefined && f.price_max !== undefined && Number(f.price_min) > Number(f.price_max) ? 'error.price_range'
      : f.height_min !== undefined && f.height_max !== undefined && Number(f.height_min) > Number(f.height_max) ? 'error.height_range' : '';
    if (badRange) {
      inflight = null;
      lastResults = null;
      nextOffset = null;
      renderResults();
      setState('error');
      showError(badRange, {}, false);
      return Promise.resolve();
    }
    f.limit = String(LIMIT);
    if (append && nextOffset) f.offset = String(nextOffset);
    var opts = { method: 'POST', signal: ctrl.signal };
    if (q.kind === 'image') {
      var fd = new FormData();
      fd.append('image', q.blob, q.name);
      var c = cropper.text();
      if (c) f.crop = c;
      Object.keys(f).forEach(function (k) { fd.append(k, f[k]); });
      if (shop) fd.append('shop_id', shop);
      opts.body = fd;
    } else {
      var body = Object.assign({}, f);
      if (q.kind === 'product') {
        body.product_id = q.id;
        body.shop_id = q.shop;
      } else {
        body.text = q.text;
        if (shop) body.shop_id = shop;
      }
      opts.headers = { 'Content-Type': 'application/json' };
      opts.body = JSON.stringify(body);
    }
    return LA.request('/api/v1/search', opts).then(function (r) {
      if (my !== seq || r.aborted) return;
      inflight = null;
      if (r.ok && r.body && Array.isArray(r.body.results)) {
        lastResults = append && lastResults ? lastResults.concat(r.body.results) : r.body.results;
        nextOffset = typeof r.body.next_offset === 'number' ? r.body.next_offset : null;
        renderResults();
        setState(!lastResults.length ? 'none' : onlyWeak() ? 'closest' : 'done');
        if (fresh) toResults();
        return;
      }
      lastResults = null;
      nextOffset = null;
      renderResults();
      setState('error');
      failed(r, q);
    });
  }

  function failed(r, q) {
    if (q.kind === 'text' && (r.status === 415 || r.status === 422)) {
      textForm.hidden = true;
      return showError('error.text', {}, false);
    }
    if (q.kind === 'product' && (r.status === 404 || r.status === 409)) return showError('error.gone', {}, false);
    var e = S.searchError(LA, r);
    if (e.busy) return busy(e.busy);
    return showError(e.key, e.vars, e.retry);
  }

  // busy shows the 429 wait counting down, then offers to try again.
  function busy(seconds) {
    var left = seconds;
    showError('error.busy', { s: left }, false);
    countdown = setInterval(function () {
      left--;
      if (left > 0) {
        lastError.vars.s = left;
        renderError();
        return;
      }
      clearInterval(countdown);
      countdown = null;
      showError('error.busy_now', {}, true);
    }, 1000);
  }

  function rerun() {
    if (last) run(last);
  }

  // toResults brings the results into view on a phone, where they are
  // below the photo picker and the filters: at once, and again when the
  // photo above them has loaded and pushed them down.
  function toResults() {
    if (!window.matchMedia || !window.matchMedia('(max-width: 959px)').matches) return;
    var go = function () { results.scrollIntoView({ block: 'start' }); };
    go();
    if (!cropImg.complete) cropImg.addEventListener('load', go, { once: true });
  }

  // filtersChanged re-runs the last query when the filters differ from the
  // ones it ran with (a blur after typing fires change with nothing new).
  function filtersChanged() {
    clearTimeout(debounce);
    if (last && JSON.stringify(filterValues()) !== ranWith) run(last);
  }

  function moreLike(r) {
    run({ kind: 'product', id: r.product_id, shop: r.shop_id, title: r.title, sha: r.image_sha256 });
    var reduce = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    (queryBox.hidden ? results : queryBox).scrollIntoView({ behavior: reduce ? 'auto' : 'smooth', block: 'start' });
    results.focus({ preventScroll: true });
  }

  // ---- photos in ----

  function useFile(file) {
    if (!file) return;
    S.shrink(file).then(function (blob) {
      if (last && last.url) URL.revokeObjectURL(last.url);
      cropper.clear();
      run({ kind: 'image', blob: blob, name: file.name || 'photo.jpg', url: URL.createObjectURL(blob) });
    });
  }

  // ---- the crop box ----

  // renderCrop shows the photo of an image query with the box over it.
  function renderCrop() {
    if (!last || last.kind !== 'image') {
      cropSec.hidden = true;
      cropImg.removeAttribute('src');
      return;
    }
    cropSec.hidden = false;
    if (cropImg.getAttribute('src') !== last.url) cropImg.src = last.url;
    cropImg.alt = t('query.photo');
    cropper.show();
  }

  var cropper = S.cropper({
    area: cropArea, img: cropImg, box: cropBox, reset: cropReset,
    active: function () { return !!last && last.kind === 'image'; },
    search: function () { if (last) run(last); }
  });

  function imageFrom(dt) {
    if (!dt) return null;
    var files = dt.files || [];
    for (var i = 0; i < files.length; i++) {
      if (!files[i].type || files[i].type.indexOf('image/') === 0) return files[i];
    }
    var items = dt.items || [];
    for (var j = 0; j < items.length; j++) {
      if (items[j].kind === 'file' && items[j].type.indexOf('image/') === 0) return items[j].getAsFile();
    }
    return files[0] || null;
  }

  [fileInput, camera].forEach(function (input) {
    input.addEventListener('change', function () {
      var f = input.files && input.files[0];
      useFile(f);
      input.value = '';
    });
  });

  // Drops land anywhere on the page; the zone lights up while dragging.
  var depth = 0;
  document.addEventListener('dragenter', function (e) {
    if (!e.dataTransfer || Array.prototype.indexOf.call(e.dataTransfer.types || [], 'Files') < 0) return;
    depth++;
    drop.classList.add('over');
  });
  document.addEventListener('dragleave', function () {
    depth = Math.max(0, depth - 1);
    if (!depth) drop.classList.remove('over');
  });
  document.addEventListener('dragover', function (e) { e.preventDefault(); });
  document.addEventListener('drop', function (e) {
    e.preventDefault();
    depth = 0;
    drop.classList.remove('over');
    useFile(imageFrom(e.dataTransfer));
  });

  document.addEventListener('paste', function (e) {
    var f = imageFrom(e.clipboardData);
    if (f && (!f.type || f.type.indexOf('image/') === 0)) {
      e.preventDefault();
      useFile(f);
    }
  });

  queryImg.addEventListener('error', function () { queryImg.hidden = true; });
  queryImg.addEventListener('load', function () { queryImg.hidden = false; });

  // ---- words in ----

  textForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = textInput.value.trim();
    if (text) run({ kind: 'text', text: text });
  });

  // Text search needs a CLIP model; the built-in descriptor only compares photos.
  LA.request('/api/v1/search/info').then(function (r) {
    if (r.ok && r.body && r.body.text_search) textForm.hidden = false;
  });

  // ---- filters ----

  function soon() {
    clearTimeout(debounce);
    debounce = setTimeout(filtersChanged, 450);
  }
  avail.addEventListener('change', filtersChanged);
  sortSel.addEventListener('change', function () {
    renderResults();
    renderStatus();
  });
  moreBtn.addEventListener('click', function () {
    if (last && nextOffset !== null) run(last, true);
  });
  [priceMin, priceMax, heightMin, heightMax].forEach(function (input) {
    input.addEventListener('input', soon);
    input.addEventListener('change', filtersChanged);
  });
  $('filters').addEventListener('submit', function (e) {
    e.preventDefault();
    filtersChanged();
  });

  retryBtn.addEventListener('click', rerun);
  $('clear').addEventListener('click', function () {
    if (inflight) inflight.abort();
    inflight = null;
    seq++;
    if (last && last.url) URL.revokeObjectURL(last.url);
    last = null;
    lastResults = null;
    nextOffset = null;
    cropper.clear();
    clearError();
    renderQuery();
    renderCrop();
    renderResults();
    setState('empty');
    fileInput.focus();
  });

  LA.onLang(function () {
    renderStatus();
    renderQuery();
    renderResults();
    renderError();
  });
})();
