// The shopper's page: a photo (chosen, dropped, pasted or taken) or words
// in, the most similar bouquets out. Talks to POST /api/v1/search (and
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
  var SHRINK_OVER = 1536 * 1024; // bytes; larger photos are scaled down before upload
  var MAX_EDGE = 1600;

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
  var textForm = $('textform');
  var textInput = $('text');

  var last = null;        // {kind: 'image', blob, name, url} | {kind: 'product', id, shop, title, sha} | {kind: 'text', text}
  var lastResults = null; // results of the last answered search
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
    else if (s === 'done') text = t('state.found', { n: lastResults ? lastResults.length : 0 });
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
      queryImg.hidden = false;
      queryImg.src = last.url;
      queryImg.alt = t('query.photo');
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

  function thumbURL(sha, w) { return '/images/' + encodeURIComponent(sha) + '?w=' + w; }

  function card(r) {
    var title = r.title || '#' + r.product_id;
    var pic = r.image_sha256
      ? el('img', {
        src: thumbURL(r.image_sha256, 320),
        srcset: thumbURL(r.image_sha256, 320) + ' 320w, ' + thumbURL(r.image_sha256, 640) + ' 640w',
        sizes: '(min-width: 960px) 240px, (min-width: 640px) 32vw, 48vw',
        loading: 'lazy', decoding: 'async', alt: title, width: '320', height: '320'
      })
      : el('div', { className: 'nophoto', text: t('result.no_photo') });
    var meta = el('p', { className: 'meta' },
      r.height_cm ? el('span', { className: 'height', text: LA.height(r.height_cm) }) : null,
      el('span', {
        className: 'badge ' + (r.is_available ? 'badge-ok' : 'badge-no'),
        text: t(r.is_available ? 'result.in_stock' : 'result.out_of_stock')
      }));
    var more = el('button', {
      type: 'button', className: 'btn btn-small btn-secondary more', text: t('result.more'),
      'aria-label': t('result.more_label', { title: title }),
      on: { click: function () { moreLike(r); } }
    });
    return el('li', { className: 'card-r', 'data-product-id': String(r.product_id) },
      el('div', { className: 'thumb' }, pic, el('span', { className: 'score', text: t('result.match', { p: LA.percent(r.score) }) })),
      el('div', { className: 'card-body' },
        el('h3', { className: 'card-title', text: title }),
        r.price !== null && r.price !== undefined ? el('p', { className: 'price', text: LA.money(r.price, r.currency) }) : null,
        meta, more));
  }

  function renderResults() {
    grid.replaceChildren.apply(grid, (lastResults || []).map(card));
  }

  // ---- searching ----

  function filterValues() {
    var f = { available: avail.value };
    var lo = priceMin.value.trim();
    var hi = priceMax.value.trim();
    if (lo !== '' && Number(lo) >= 0) f.price_min = lo;
    if (hi !== '' && Number(hi) >= 0) f.price_max = hi;
    return f;
  }

  function run(q) {
    if (inflight) inflight.abort();
    var ctrl = new AbortController();
    inflight = ctrl;
    var my = ++seq;
    last = q;
    clearError();
    renderQuery();
    setState('busy');

    var f = filterValues();
    ranWith = JSON.stringify(f);
    if (f.price_min !== undefined && f.price_max !== undefined && Number(f.price_min) > Number(f.price_max)) {
      inflight = null;
      lastResults = null;
      renderResults();
      setState('error');
      showError('error.price_range', {}, false);
      return Promise.resolve();
    }
    var opts = { method: 'POST', signal: ctrl.signal };
    if (q.kind === 'image') {
      var fd = new FormData();
      fd.append('image', q.blob, q.name);
      Object.keys(f).forEach(function (k) { fd.append(k, f[k]); });
      if (shop) fd.append('shop_id', shop);
      fd.append('limit', String(LIMIT));
      opts.body = fd;
    } else {
      var body = Object.assign({ limit: LIMIT }, f);
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
        lastResults = r.body.results;
        renderResults();
        setState(lastResults.length ? 'done' : 'none');
        return;
      }
      lastResults = null;
      renderResults();
      setState('error');
      failed(r, q);
    });
  }

  function failed(r, q) {
    if (r.network) return showError('error.network', {}, true);
    switch (r.status) {
      case 413: {
        var m = /limit of ([\d.]+) (MiB|KiB|bytes)/.exec(r.message || '');
        if (m) return showError('error.too_large_max', { max: m[1] + '\u00a0' + t('unit.' + m[2]) }, false);
        return showError('error.too_large', {}, false);
      }
      case 415:
      case 422:
        if (q.kind === 'text') {
          textForm.hidden = true;
          return showError('error.text', {}, false);
        }
        return showError('error.not_image', {}, false);
      case 429:
        return busy(r.retryAfter || 1);
      case 404:
      case 409:
        if (q.kind === 'product') return showError('error.gone', {}, false);
        break;
    }
    if (r.status >= 500) return showError('error.server', {}, true);
    return showError('error.other', { msg: r.message || String(r.status) }, true);
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

  // shrink scales a large photo down before upload: phones take 5–10 MB
  // pictures, and 1600 px is more than the search looks at. Anything that
  // fails goes up as it is, and the server decides.
  function shrink(file) {
    if (file.size <= SHRINK_OVER || !/^image\/(jpeg|png|webp)$/.test(file.type) || !window.createImageBitmap) {
      return Promise.resolve(file);
    }
    return createImageBitmap(file).then(function (bmp) {
      var scale = Math.min(1, MAX_EDGE / Math.max(bmp.width, bmp.height));
      var c = document.createElement('canvas');
      c.width = Math.round(bmp.width * scale);
      c.height = Math.round(bmp.height * scale);
      c.getContext('2d').drawImage(bmp, 0, 0, c.width, c.height);
      if (bmp.close) bmp.close();
      return new Promise(function (resolve) {
        c.toBlob(function (b) { resolve(b && b.size < file.size ? b : file); }, 'image/jpeg', 0.9);
      });
    }).catch(function () { return file; });
  }

  function useFile(file) {
    if (!file) return;
    shrink(file).then(function (blob) {
      if (last && last.url) URL.revokeObjectURL(last.url);
      run({ kind: 'image', blob: blob, name: file.name || 'photo.jpg', url: URL.createObjectURL(blob) });
    });
  }

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
  [priceMin, priceMax].forEach(function (input) {
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
    clearError();
    renderQuery();
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
