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
  var CLOSEST = 4;        // weak results shown when nothing is close
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
  var crop = null;        // {x, y, w, h} relative to the photo; null: the whole photo
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

  function thumbURL(sha, w) { return '/images/' + encodeURIComponent(sha) + '?w=' + w; }

  // link wraps content in a link to the product's page (same tab, as any
  // shop link), or returns it as it is when the page is not known.
  function link(r, content, props) {
    if (!r.url) return content;
    return el('a', Object.assign({ href: r.url, className: 'card-link' }, props || {}), content);
  }

  function card(r) {
    var title = r.title || '#' + r.product_id;
    // The product's photo that matched the query, else its main photo.
    var sha = (r.matched_image && r.matched_image.image_sha256) || r.image_sha256;
    var pic = sha
      ? el('img', {
        src: thumbURL(sha, 320),
        srcset: thumbURL(sha, 320) + ' 320w, ' + thumbURL(sha, 640) + ' 640w',
        sizes: '(min-width: 960px) 240px, (min-width: 640px) 32vw, 48vw',
        loading: 'lazy', decoding: 'async', alt: title, width: '320', height: '320'
      })
      : el('div', { className: 'nophoto', text: t('result.no_photo') });
    var band = r.band || 'similar';
    var soldOutExact = band === 'exact' && !r.is_available;
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
    return el('li', { className: 'card-r band-' + band + (soldOutExact ? ' sold-out' : ''), 'data-product-id': String(r.product_id), 'data-band': band },
      el('div', { className: 'thumb' }, link(r, pic, { tabindex: '-1', 'aria-hidden': 'true' }),
        el('span', { className: 'band band-' + band, text: t('band.' + band) })),
      el('div', { className: 'card-body' },
        el('h3', { className: 'card-title' }, link(r, title)),
        r.price !== null && r.price !== undefined ? el('p', { className: 'price', text: LA.money(r.price, r.currency) }) : null,
        soldOutExact ? el('p', { className: 'sold-out-note', text: t('result.sold_out_exact') }) : null,
        meta,
        soldOutExact && r.notify_url ? el('a', { className: 'btn btn-small notify', href: r.notify_url, text: t('result.notify') }) : null,
        more));
  }

  // shown is what the grid shows: the exact and similar results, in the
  // chosen order; when there are none, the closest few weak ones.
  function shown() {
    var all = lastResults || [];
    var close = all.filter(function (r) { return r.band !== 'weak'; });
    if (!close.length) close = all.slice(0, CLOSEST);
    var order = sortSel.value;
    if (order === 'relevance') return close;
    var sign = order === 'price_desc' ? -1 : 1;
    // Exact matches stay first ("this is it" is the answer); the rest by
    // price, unknown prices last, ties in the server's order.
    return close.map(function (r, i) { return { r: r, i: i }; }).sort(function (a, b) {
      var ea = a.r.band === 'exact' ? 0 : 1, eb = b.r.band === 'exact' ? 0 : 1;
      if (ea !== eb) return ea - eb;
      var pa = a.r.price, pb = b.r.price;
      var na = pa === null || pa === undefined, nb = pb === null || pb === undefined;
      if (na !== nb) return na ? 1 : -1;
      if (!na && pa !== pb) return sign * (pa - pb);
      return a.i - b.i;
    }).map(function (x) { return x.r; });
  }

  function onlyWeak() {
    return !!(lastResults && lastResults.length) && lastResults.every(function (r) { return r.band === 'weak'; });
  }

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

  function cropValue() {
    if (!crop || (crop.w > 0.98 && crop.h > 0.98)) return '';
    return [crop.x, crop.y, crop.w, crop.h].map(function (v) { return v.toFixed(4); }).join(',');
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
      var c = cropValue();
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
      crop = null;
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
    placeBox(crop);
  }

  function placeBox(c) {
    cropBox.hidden = !c;
    cropReset.hidden = !c;
    if (!c) return;
    cropBox.style.left = (c.x * 100) + '%';
    cropBox.style.top = (c.y * 100) + '%';
    cropBox.style.width = (c.w * 100) + '%';
    cropBox.style.height = (c.h * 100) + '%';
  }

  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }

  // The box follows one pointer (mouse, pen or finger): pressed on a corner
  // it resizes, inside it moves, elsewhere on the photo it draws a new box.
  // Letting go searches the region.
  var drag = null;
  var MIN_SIDE = 0.05;
  function pointAt(e) {
    var rect = cropImg.getBoundingClientRect();
    return { x: clamp((e.clientX - rect.left) / rect.width, 0, 1), y: clamp((e.clientY - rect.top) / rect.height, 0, 1) };
  }
  cropArea.addEventListener('pointerdown', function (e) {
    if (!last || last.kind !== 'image' || (e.pointerType === 'mouse' && e.button !== 0)) return;
    e.preventDefault();
    var p = pointAt(e);
    var h = e.target && e.target.dataset ? e.target.dataset.h : '';
    var from = crop ? Object.assign({}, crop) : null;
    if (h && from) drag = { mode: h, from: from, start: p };
    else if (from && e.target === cropBox) drag = { mode: 'move', from: from, start: p };
    else drag = { mode: 'draw', start: p, from: { x: p.x, y: p.y, w: 0, h: 0 } };
    drag.id = e.pointerId;
    try { cropArea.setPointerCapture(e.pointerId); } catch (err) { /* not capturable */ }
  });
  cropArea.addEventListener('pointermove', function (e) {
    if (!drag || e.pointerId !== drag.id) return;
    e.preventDefault();
    var p = pointAt(e);
    var f = drag.from;
    var c;
    if (drag.mode === 'draw') {
      c = { x: Math.min(drag.start.x, p.x), y: Math.min(drag.start.y, p.y), w: Math.abs(p.x - drag.start.x), h: Math.abs(p.y - drag.start.y) };
    } else if (drag.mode === 'move') {
      c = { x: clamp(f.x + p.x - drag.start.x, 0, 1 - f.w), y: clamp(f.y + p.y - drag.start.y, 0, 1 - f.h), w: f.w, h: f.h };
    } else {
      var x0 = f.x, y0 = f.y, x1 = f.x + f.w, y1 = f.y + f.h;
      if (drag.mode.indexOf('w') >= 0) x0 = Math.min(p.x, x1 - MIN_SIDE); else x1 = Math.max(p.x, x0 + MIN_SIDE);
      if (drag.mode.indexOf('n') >= 0) y0 = Math.min(p.y, y1 - MIN_SIDE); else y1 = Math.max(p.y, y0 + MIN_SIDE);
      c = { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
    }
    drag.now = c;
    placeBox(c);
  });
  function endDrag(e) {
    if (!drag || e.pointerId !== drag.id) return;
    var c = drag.now;
    drag = null;
    if (!c || c.w < MIN_SIDE || c.h < MIN_SIDE) { // a tap: keep the box as it was
      placeBox(crop);
      return;
    }
    crop = { x: clamp(c.x, 0, 1), y: clamp(c.y, 0, 1), w: Math.min(c.w, 1 - c.x), h: Math.min(c.h, 1 - c.y) };
    run(last);
  }
  cropArea.addEventListener('pointerup', endDrag);
  cropArea.addEventListener('pointercancel', function (e) {
    if (!drag || e.pointerId !== drag.id) return;
    drag = null;
    placeBox(crop);
  });
  // The keyboard: arrows move the box (a new one covers most of the photo),
  // Shift with arrows resizes it, Enter searches it, Escape the whole photo.
  var STEP = 0.02;
  cropArea.addEventListener('keydown', function (e) {
    if (!last || last.kind !== 'image') return;
    var dx = { ArrowLeft: -STEP, ArrowRight: STEP }[e.key] || 0;
    var dy = { ArrowUp: -STEP, ArrowDown: STEP }[e.key] || 0;
    if (e.key === 'Enter') {
      if (drag && drag.now) { crop = drag.now; drag = null; }
      if (crop) run(last);
    } else if (e.key === 'Escape') {
      drag = null;
      crop = null;
      run(last);
    } else if (dx || dy) {
      var c = Object.assign({}, (drag && drag.now) || crop || { x: 0.1, y: 0.1, w: 0.8, h: 0.8 });
      if (e.shiftKey) {
        c.w = clamp(c.w + dx, MIN_SIDE, 1 - c.x);
        c.h = clamp(c.h + dy, MIN_SIDE, 1 - c.y);
      } else {
        c.x = clamp(c.x + dx, 0, 1 - c.w);
        c.y = clamp(c.y + dy, 0, 1 - c.h);
      }
      drag = { mode: 'keys', now: c }; // searched on Enter
      placeBox(c);
    } else {
      return;
    }
    e.preventDefault();
  });
  cropReset.addEventListener('click', function () {
    crop = null;
    if (last) run(last);
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
    crop = null;
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
