// The search by photo's parts that the shopper's page and the widget
// (/widget.js, on a shop's own site) share: the result cards (bands,
// product links, the sold-out exact match), which results show, the crop
// box, shrinking a photo before upload, and what a failed search tells the
// shopper. Each takes the helpers of core.js (LA) and works in any root,
// a document or a shadow root. Plain ES2017.
'use strict';

var LOOKALIKE = typeof LOOKALIKE === 'object' && LOOKALIKE ? LOOKALIKE : {}; // see core.js

LOOKALIKE.CLOSEST = 4; // weak results shown when nothing is close

// card is one result: o.base is the API's origin ('' on its own pages),
// o.more, when given, is called with the result for "more like this".
LOOKALIKE.card = function (LA, r, o) {
  var t = LA.t, el = LA.el;
  o = o || {};
  var base = o.base || '';
  function thumbURL(sha, w) { return base + '/images/' + encodeURIComponent(sha) + '?w=' + w; }
  // link wraps content in a link to the product's page (same tab, as any
  // shop link), or returns it as it is when the page is not known.
  function link(content, props) {
    if (!r.url) return content;
    return el('a', Object.assign({ href: r.url, className: 'card-link' }, props || {}), content);
  }
  var title = r.title || '#' + r.product_id;
  // The product's photo that matched the query, else its main photo.
  var sha = (r.matched_image && r.matched_image.image_sha256) || r.image_sha256;
  var pic = sha
    ? el('img', {
      src: thumbURL(sha, 320),
      srcset: thumbURL(sha, 320) + ' 320w, ' + thumbURL(sha, 640) + ' 640w',
      sizes: o.sizes || '(min-width: 960px) 240px, (min-width: 640px) 32vw, 48vw',
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
  var more = o.more ? el('button', {
    type: 'button', className: 'btn btn-small btn-secondary more', text: t('result.more'),
    'aria-label': t('result.more_label', { title: title }),
    on: { click: function () { o.more(r); } }
  }) : null;
  return el('li', { className: 'card-r band-' + band + (soldOutExact ? ' sold-out' : ''), 'data-product-id': String(r.product_id), 'data-band': band },
    el('div', { className: 'thumb' }, link(pic, { tabindex: '-1', 'aria-hidden': 'true' }),
      el('span', { className: 'band band-' + band, text: t('band.' + band) })),
    el('div', { className: 'card-body' },
      el('h3', { className: 'card-title' }, link(title)),
      r.price !== null && r.price !== undefined ? el('p', { className: 'price', text: LA.money(r.price, r.currency) }) : null,
      soldOutExact ? el('p', { className: 'sold-out-note', text: t('result.sold_out_exact') }) : null,
      meta,
      soldOutExact && r.notify_url ? el('a', { className: 'btn btn-small notify', href: r.notify_url, text: t('result.notify') }) : null,
      more));
};

// onlyWeak says whether every result is only loosely alike.
LOOKALIKE.onlyWeak = function (all) {
  return !!(all && all.length) && all.every(function (r) { return r.band === 'weak'; });
};

// shown is what a search shows of its results: the exact and similar ones,
// in the order asked for (relevance, price_asc, price_desc); when there are
// none, the closest few weak ones.
LOOKALIKE.shown = function (all, order) {
  all = all || [];
  var close = all.filter(function (r) { return r.band !== 'weak'; });
  if (!close.length) close = all.slice(0, LOOKALIKE.CLOSEST);
  if (!order || order === 'relevance') return close;
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
};

// shrink scales a large photo down before upload: phones take 5–10 MB
// pictures, and 1600 px is more than the search looks at. Anything that
// fails goes up as it is, and the server decides.
LOOKALIKE.shrink = function (file) {
  var SHRINK_OVER = 1536 * 1024, MAX_EDGE = 1600;
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
};

// searchError is what to tell the shopper when a photo search failed:
// {key, vars, retry}, or {busy: seconds} for a 429; null when the caller
// decides (a status only it knows).
LOOKALIKE.searchError = function (LA, r) {
  if (r.network) return { key: 'error.network', retry: true };
  switch (r.status) {
    case 413: {
      var m = /limit of ([\d.]+) (MiB|KiB|bytes)/.exec(r.message || '');
      if (m) return { key: 'error.too_large_max', vars: { max: m[1] + '\u00a0' + LA.t('unit.' + m[2]) } };
      return { key: 'error.too_large' };
    }
    case 415:
    case 422:
      return { key: 'error.not_image' };
    case 429:
      return { busy: r.retryAfter || 1 };
  }
  if (r.status >= 500) return { key: 'error.server', retry: true };
  return { key: 'error.other', vars: { msg: r.message || String(r.status) }, retry: true };
};

// cropper drives a crop box over a photo: o.area (focusable, holds o.img
// and the box o.box with four corner handles [data-h]), o.reset (a button:
// the whole photo), o.active() (whether a photo is shown) and o.search()
// (called when the box changed and the region is to be searched). The box
// follows one pointer (mouse, pen or finger): pressed on a corner it
// resizes, inside it moves, elsewhere on the photo it draws a new box;
// letting go searches. The keyboard: arrows move the box (a new one covers
// most of the photo), Shift with arrows resizes it, Enter searches it,
// Escape the whole photo.
LOOKALIKE.cropper = function (o) {
  var area = o.area, img = o.img, box = o.box;
  var crop = null; // {x, y, w, h} relative to the photo; null: the whole photo
  var drag = null;
  var MIN_SIDE = 0.05;
  var STEP = 0.02;

  function place(c) {
    box.hidden = !c;
    o.reset.hidden = !c;
    if (!c) return;
    box.style.left = (c.x * 100) + '%';
    box.style.top = (c.y * 100) + '%';
    box.style.width = (c.w * 100) + '%';
    box.style.height = (c.h * 100) + '%';
  }
  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
  function pointAt(e) {
    var rect = img.getBoundingClientRect();
    return { x: clamp((e.clientX - rect.left) / rect.width, 0, 1), y: clamp((e.clientY - rect.top) / rect.height, 0, 1) };
  }

  area.addEventListener('pointerdown', function (e) {
    if (!o.active() || (e.pointerType === 'mouse' && e.button !== 0)) return;
    e.preventDefault();
    var p = pointAt(e);
    // In a shadow root the event's target outside it is the host; inside
    // it is the element itself.
    var target = e.composedPath ? e.composedPath()[0] : e.target;
    var h = target && target.dataset ? target.dataset.h : '';
    var from = crop ? Object.assign({}, crop) : null;
    if (h && from) drag = { mode: h, from: from, start: p };
    else if (from && target === box) drag = { mode: 'move', from: from, start: p };
    else drag = { mode: 'draw', start: p, from: { x: p.x, y: p.y, w: 0, h: 0 } };
    drag.id = e.pointerId;
    try { area.setPointerCapture(e.pointerId); } catch (err) { /* not capturable */ }
  });
  area.addEventListener('pointermove', function (e) {
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
    place(c);
  });
  area.addEventListener('pointerup', function (e) {
    if (!drag || e.pointerId !== drag.id) return;
    var c = drag.now;
    drag = null;
    if (!c || c.w < MIN_SIDE || c.h < MIN_SIDE) { // a tap: keep the box as it was
      place(crop);
      return;
    }
    crop = { x: clamp(c.x, 0, 1), y: clamp(c.y, 0, 1), w: Math.min(c.w, 1 - c.x), h: Math.min(c.h, 1 - c.y) };
    o.search();
  });
  area.addEventListener('pointercancel', function (e) {
    if (!drag || e.pointerId !== drag.id) return;
    drag = null;
    place(crop);
  });
  area.addEventListener('keydown', function (e) {
    if (!o.active()) return;
    var dx = { ArrowLeft: -STEP, ArrowRight: STEP }[e.key] || 0;
    var dy = { ArrowUp: -STEP, ArrowDown: STEP }[e.key] || 0;
    if (e.key === 'Enter') {
      if (drag && drag.now) { crop = drag.now; drag = null; }
      if (crop) o.search();
    } else if (e.key === 'Escape') {
      drag = null;
      crop = null;
      o.search();
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
      place(c);
    } else {
      return;
    }
    e.preventDefault();
    e.stopPropagation(); // Escape closes no dialog around the box
  });
  o.reset.addEventListener('click', function () {
    crop = null;
    o.search();
  });

  return {
    // text is the box as the API's crop field ("x,y,w,h"), '' for the whole photo.
    text: function () {
      if (!crop || (crop.w > 0.98 && crop.h > 0.98)) return '';
      return [crop.x, crop.y, crop.w, crop.h].map(function (v) { return v.toFixed(4); }).join(',');
    },
    // clear forgets the box (a new photo).
    clear: function () { drag = null; crop = null; place(null); },
    // show places the box as it is (after the photo is shown again).
    show: function () { place(crop); }
  };
};
