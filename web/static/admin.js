// The operator dashboard: index health, the last hour of traffic, failed
// products with a retry, a product lookup with its nearest neighbours, and
// a full reindex with live progress. The admin token stays in this tab's
// sessionStorage and goes out as "Authorization: Bearer".
'use strict';

(function () {
  var LA = window.LA;
  var t = LA.t;
  var el = LA.el;
  function $(id) { return document.getElementById(id); }

  var TOKEN_KEY = 'lookalike.adminToken';
  var REFRESH_MS = 5000;
  var PROGRESS_MS = 1000;
  var SVG = 'http://www.w3.org/2000/svg';

  var token = sessionGet();
  var overview = null;    // last GET /api/v1/admin/overview
  var failed = null;      // last GET /api/v1/admin/failed
  var updatedAt = null;
  var offline = false;
  var loginError = '';
  var timer = null;
  var reindex = null;     // {total, finished} while a reindex-all runs
  var reindexNote = '';   // key of a message shown instead of progress
  var failedNote = null;  // {key, vars}
  var product = null;     // {data, neighbours, note: {key, vars}}

  function sessionGet() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }
  function sessionSet(v) {
    try {
      if (v) sessionStorage.setItem(TOKEN_KEY, v); else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage off: the token lives in memory only */ }
  }

  // api calls an admin endpoint with the token; a refused token signs out.
  function api(path, opts) {
    opts = Object.assign({}, opts || {});
    opts.headers = Object.assign({ Authorization: 'Bearer ' + token }, opts.headers || {});
    if (opts.json !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(opts.json);
      delete opts.json;
    }
    return LA.request(path, opts).then(function (r) {
      if (r.status === 401) signOut('login.wrong');
      else if (r.status === 403) signOut('login.disabled');
      return r;
    });
  }

  // ---- signing in and out ----

  function showLogin() {
    $('dash').hidden = true;
    $('logout').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = loginError ? t(loginError) : '';
    $('token').focus();
  }

  function showDash() {
    $('login').hidden = true;
    $('dash').hidden = false;
    $('logout').hidden = false;
  }

  function signOut(reason) {
    token = '';
    sessionSet('');
    clearTimeout(timer);
    timer = null;
    overview = failed = product = null;
    reindex = null;
    loginError = reason || '';
    $('token').value = ''; // a password field: retyping beats finding the typo
    showLogin();
  }

  $('login-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var v = $('token').value.trim();
    if (!v) return;
    token = v;
    var btn = e.submitter || $('login-form').querySelector('button');
    btn.disabled = true;
    api('/api/v1/admin/overview').then(function (r) {
      btn.disabled = false;
      if (r.ok) {
        sessionSet(token);
        $('token').value = '';
        loginError = '';
        showDash();
        accept(r, null);
        refresh();
      } else if (r.network) {
        token = '';
        $('login-error').textContent = t('dash.offline');
      } else if (r.status !== 401 && r.status !== 403) {
        token = '';
        $('login-error').textContent = t('error.admin', { msg: r.message || r.status });
      }
    });
  });

  $('logout').addEventListener('click', function () { signOut(''); });

  // ---- refreshing ----

  function schedule() {
    clearTimeout(timer);
    if (!token || document.hidden) return;
    timer = setTimeout(refresh, reindex && !reindex.finished ? PROGRESS_MS : REFRESH_MS);
  }

  function refresh() {
    clearTimeout(timer);
    if (!token) return Promise.resolve();
    return Promise.all([api('/api/v1/admin/overview'), api('/api/v1/admin/failed?limit=100')]).then(function (rs) {
      if (!token) return;
      accept(rs[0], rs[1]);
      schedule();
    });
  }

  function accept(ov, fl) {
    offline = !!(ov.network || (fl && fl.network));
    if (ov.ok) {
      overview = ov.body;
      updatedAt = new Date();
    }
    if (fl && fl.ok) failed = fl.body;
    if (overview && reindex && !reindex.finished) {
      var q = overview.queue || {};
      if ((q.pending || 0) + (q.running || 0) === 0) reindex.finished = true;
    }
    var err = $('dash-error');
    if (offline) {
      err.textContent = t('dash.offline');
      err.hidden = false;
    } else if (!ov.ok && ov.status) {
      err.textContent = t('error.admin', { msg: ov.message || ov.status });
      err.hidden = false;
    } else {
      err.hidden = true;
    }
    render();
  }

  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && token) refresh();
  });

  // ---- rendering ----

  function text(id, v) { $(id).textContent = v === undefined || v === null ? '–' : String(v); }
  function ms(v) { return t('stat.ms', { n: LA.number(v || 0) }); }

  function render() {
    renderOverview();
    renderFailed();
    renderReindex();
    renderProduct();
  }

  function renderOverview() {
    if (!overview) return;
    var o = overview;
    var p = o.products || {};
    var q = o.queue || {};
    text('s-active', p.active);
    text('s-deleted', t('stat.deleted', { n: p.deleted || 0 }));
    text('s-vectors', o.vectors);
    text('s-index', t('stat.in_memory', { n: o.index_vectors }));
    text('s-pending', q.pending);
    text('s-running', q.running);
    text('s-failed', q.failed);
    $('s-failed').parentNode.classList.toggle('bad', (q.failed || 0) > 0);
    text('s-model', o.model);
    text('s-dims', t('stat.dims', { n: o.dimensions }));
    text('s-replicas', t('stat.replicas', { n: (o.replicas || []).length }));
    [['wh', o.webhooks], ['se', o.searches]].forEach(function (x) {
      var s = x[1] || {};
      text('s-' + x[0] + '-rate', LA.number(s.per_minute || 0));
      text('s-' + x[0] + '-lat', 'p50 ' + ms(s.p50_ms) + ' · p99 ' + ms(s.p99_ms));
      text('s-' + x[0] + '-count', t('stat.total', { n: s.count || 0 }) + (s.errors ? ' · ' + t('stat.errors', { n: s.errors }) : ''));
    });

    var pill = $('health');
    var working = (q.pending || 0) + (q.running || 0);
    pill.className = 'pill';
    if (q.failed) {
      pill.textContent = t('health.failed', { n: q.failed });
      pill.classList.add('bad');
    } else if (working) {
      pill.textContent = t('health.working', { n: working });
      pill.classList.add('warn');
    } else if (o.index_vectors !== undefined && o.index_vectors !== o.vectors) {
      pill.textContent = t('health.mismatch', { index: o.index_vectors, vectors: o.vectors });
      pill.classList.add('warn');
    } else {
      pill.textContent = t('health.ok');
    }
    $('updated').textContent = updatedAt ? t('dash.updated', { time: LA.time(updatedAt) }) : '';
    drawChart();
  }

  // niceMax rounds up to 1, 2 or 5 times a power of ten.
  function niceMax(v) {
    if (v <= 1) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }

  function svg(tag, attrs, txt) {
    var n = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (txt !== undefined) n.textContent = txt;
    return n;
  }

  // drawChart draws webhooks and searches per minute for the last hour, at
  // the chart's real width so that its text stays crisp on any screen.
  function drawChart() {
    var box = $('chart');
    var o = overview;
    var wh = (o.webhooks && o.webhooks.minutes) || [];
    var se = (o.searches && o.searches.minutes) || [];
    var n = Math.max(wh.length, se.length, 2);
    var W = Math.max(280, Math.round(box.getBoundingClientRect().width) || 640);
    var H = 180;
    var L = 36, R = 10, T = 10, B = 24;
    box.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    var top = niceMax(Math.max.apply(null, wh.concat(se).map(function (m) { return m.count || 0; }).concat([1])));
    function x(i) { return L + i * (W - L - R) / (n - 1); }
    function y(v) { return T + (H - T - B) * (1 - v / top); }

    var title = svg('title', { id: 'chart-desc' }, t('chart.summary', { w: (o.webhooks || {}).count || 0, s: (o.searches || {}).count || 0 }));
    var parts = [title];
    [0, top / 2, top].forEach(function (v) {
      parts.push(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid-line' }));
      parts.push(svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, LA.number(v)));
    });
    [[0, t('chart.ago', { n: 60 }), 'start'], [Math.floor((n - 1) / 2), t('chart.ago', { n: 30 }), 'middle'], [n - 1, t('chart.now'), 'end']].forEach(function (a) {
      parts.push(svg('text', { x: x(a[0]), y: H - 6, 'text-anchor': a[2], class: 'axis' }, a[1]));
    });
    [['s-webhooks', wh], ['s-searches', se]].forEach(function (s) {
      if (!s[1].length) return;
      var pts = s[1].map(function (m, i) { return x(i).toFixed(1) + ',' + y(m.count || 0).toFixed(1); });
      parts.push(svg('path', { d: 'M' + x(0) + ',' + y(0) + ' L' + pts.join(' L') + ' L' + x(s[1].length - 1) + ',' + y(0) + ' Z', class: 'area ' + s[0] }));
      parts.push(svg('polyline', { points: pts.join(' '), class: 'line ' + s[0] }));
    });
    // One invisible column per minute, with its numbers as a tooltip.
    var colW = (W - L - R) / (n - 1);
    for (var i = 0; i < n; i++) {
      var m = wh[i] || se[i] || {};
      var hit = svg('rect', { x: Math.max(L, x(i) - colW / 2), y: T, width: colW, height: H - T - B, class: 'hit' });
      hit.appendChild(svg('title', {}, t('chart.tip', {
        time: m.t ? new Intl.DateTimeFormat(LA.lang(), { hour: '2-digit', minute: '2-digit' }).format(new Date(m.t)) : '',
        w: (wh[i] && wh[i].count) || 0, s: (se[i] && se[i].count) || 0
      })));
      parts.push(hit);
    }
    box.replaceChildren.apply(box, parts);
  }

  var resizeTimer = null;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { if (overview && !$('dash').hidden) drawChart(); }, 150);
  });

  function renderFailed() {
    var list = $('failed');
    var items = (failed && failed.failed) || [];
    $('failed-count').textContent = failed ? '(' + items.length + ')' : '';
    $('retry-all').hidden = !items.length;
    var note = failedNote ? t(failedNote.key, failedNote.vars) : '';
    $('failed-msg').textContent = failed && !items.length ? (note ? note + ' ' : '') + t('failed.none') : note;
    list.replaceChildren.apply(list, items.map(function (f) {
      var btn = el('button', {
        type: 'button', className: 'btn btn-small retry', text: t('failed.retry'),
        'aria-label': t('failed.retry_label', { id: f.product_id }),
        on: { click: function () { retryOne(f, btn); } }
      });
      return el('li', { 'data-product-id': String(f.product_id), 'data-shop-id': String(f.shop_id) },
        el('div', { className: 'what' },
          el('p', { className: 'title', text: f.title || '#' + f.product_id }),
          el('p', { className: 'reason', text: f.error || '' }),
          el('p', { className: 'meta' },
            el('span', { text: t('failed.product', { id: f.product_id, shop: f.shop_id }) }),
            el('span', { text: t('failed.attempts', { n: f.attempts }) }),
            el('time', { datetime: f.failed_at, text: LA.dateTime(f.failed_at) }))),
        btn);
    }));
  }

  function retryOne(f, btn) {
    btn.disabled = true;
    api('/api/v1/admin/retry', { method: 'POST', json: { product_id: f.product_id, shop_id: f.shop_id } }).then(function (r) {
      if (r.ok) {
        failedNote = { key: 'failed.queued', vars: { n: 1 } };
        // Gone from the failed list at once; the refresh confirms it.
        failed.failed = failed.failed.filter(function (x) { return x !== f; });
        renderFailed();
        refresh();
      } else if (r.status !== 401 && r.status !== 403) {
        btn.disabled = false;
        failedNote = { key: 'error.admin', vars: { msg: r.message || (r.network ? t('dash.offline') : r.status) } };
        renderFailed();
      }
    });
  }

  $('retry-all').addEventListener('click', function () {
    var btn = $('retry-all');
    btn.disabled = true;
    api('/api/v1/admin/retry-failed', { method: 'POST' }).then(function (r) {
      btn.disabled = false;
      failedNote = r.ok
        ? { key: 'failed.queued', vars: { n: (r.body && r.body.count) || 0 } }
        : { key: 'error.admin', vars: { msg: r.message || (r.network ? t('dash.offline') : r.status) } };
      refresh();
    });
  });

  // ---- reindex all ----

  $('reindex').addEventListener('click', function () {
    $('reindex-confirm').hidden = false;
    $('reindex-yes').focus();
  });
  $('reindex-no').addEventListener('click', function () {
    $('reindex-confirm').hidden = true;
    $('reindex').focus();
  });
  $('reindex-yes').addEventListener('click', function () {
    $('reindex-confirm').hidden = true;
    $('reindex').disabled = true;
    api('/api/v1/admin/reindex-all', { method: 'POST', json: {} }).then(function (r) {
      $('reindex').disabled = false;
      if (!r.ok) {
        reindex = null;
        reindexNote = r.network ? t('dash.offline') : t('error.admin', { msg: r.message || r.status });
        renderReindex();
        return;
      }
      var count = (r.body && r.body.count) || 0;
      reindexNote = count ? '' : t('reindex.none');
      reindex = count ? { total: count, finished: false } : null;
      renderReindex();
      refresh();
    });
  });

  function renderReindex() {
    var run = $('reindex-run');
    var bar = $('reindex-progress');
    var status = $('reindex-status');
    if (!reindex) {
      run.hidden = !reindexNote;
      bar.hidden = true;
      status.textContent = reindexNote;
      return;
    }
    run.hidden = false;
    bar.hidden = false;
    var q = (overview && overview.queue) || {};
    var left = reindex.finished ? 0 : (q.pending || 0) + (q.running || 0);
    var done = Math.max(0, Math.min(reindex.total, reindex.total - left));
    bar.max = reindex.total;
    bar.value = done;
    status.textContent = reindex.finished
      ? t('reindex.done', { total: reindex.total, failed: q.failed || 0 })
      : t('reindex.progress', { done: done, total: reindex.total });
  }

  // ---- product lookup ----

  $('lookup').addEventListener('submit', function (e) {
    e.preventDefault();
    lookup($('lookup-id').value.trim(), $('lookup-shop').value.trim());
  });

  function lookup(id, shop) {
    // A product id is a number or a code such as 00000085340_1.
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id) || (shop && !/^\d+$/.test(shop))) return;
    $('lookup-id').value = id;
    $('lookup-shop').value = shop || '';
    var path = '/api/v1/products/' + encodeURIComponent(id) + (shop ? '?shop_id=' + shop : '');
    return api(path).then(function (r) {
      if (!r.ok) {
        product = {
          note: r.status === 404 ? { key: 'lookup.not_found', vars: { id: id } }
            : { key: 'error.admin', vars: { msg: r.message || (r.network ? t('dash.offline') : r.status) } }
        };
        renderProduct();
        return;
      }
      product = { data: r.body, neighbours: null };
      renderProduct();
      var my = product;
      return api('/api/v1/search', {
        method: 'POST', json: { product_id: r.body.product_id, shop_id: r.body.shop_id, available: 'any', min_band: 'any', limit: 12 }
      }).then(function (s) {
        if (product !== my) return;
        if (s.ok && s.body) my.neighbours = s.body.results || [];
        else if (s.status === 409 || s.status === 404) my.neighboursNote = { key: 'lookup.no_vector' };
        else my.neighboursNote = { key: 'error.admin', vars: { msg: s.message || (s.network ? t('dash.offline') : s.status) } };
        renderProduct();
      });
    });
  }

  function stateBadge(state) {
    var cls = { indexed: 'badge-ok', failed: 'badge-no', pending: 'badge-warn', no_image: 'badge-warn' }[state] || 'badge-warn';
    return el('span', { className: 'badge ' + cls, text: cls === 'badge-warn' && state !== 'pending' && state !== 'no_image' ? String(state) : t('istate.' + state) });
  }

  function renderProduct() {
    var box = $('product');
    if (!product) {
      box.replaceChildren();
      return;
    }
    if (!product.data) {
      box.replaceChildren(el('p', { className: 'muted', text: t(product.note.key, product.note.vars) }));
      return;
    }
    var p = product.data;
    var ix = p.index || {};
    var rows = [
      ['field.title', p.title],
      ['field.price', p.price !== null && p.price !== undefined ? LA.money(p.price, p.currency) + (p.price_raw ? ' (' + p.price_raw + ')' : '') : p.price_raw],
      ['field.height', p.height_cm ? LA.height(p.height_cm) : p.height_raw],
      ['field.available', t(p.is_available ? 'yes' : 'no')],
      ['field.image', p.image_url],
      ['field.state', stateBadge(ix.state)],
      ['field.error', ix.error],
      ['field.indexed', LA.dateTime(ix.indexed_at)],
      ['field.sha', ix.image_sha256 ? el('span', { className: 'mono', text: ix.image_sha256 }) : ''],
      ['field.photos', ix.photos_total ? t('field.photos_count', { indexed: ix.photos_indexed, total: ix.photos_total }) : ''],
      ['field.model', ix.model],
      ['field.created', LA.dateTime(p.created_at)],
      ['field.updated', LA.dateTime(p.updated_at)],
      ['field.deleted', LA.dateTime(p.deleted_at)],
      ['field.extra', p.extra ? el('pre', { className: 'mono', text: JSON.stringify(p.extra, null, 1) }) : '']
    ];
    var dl = el('dl', { className: 'fields' });
    rows.forEach(function (row) {
      if (row[1] === '' || row[1] === null || row[1] === undefined) return;
      dl.appendChild(el('dt', { text: t(row[0]) }));
      dl.appendChild(el('dd', {}, typeof row[1] === 'string' ? row[1] : row[1]));
    });
    var reBtn = el('button', {
      type: 'button', className: 'btn btn-small btn-secondary', text: t('lookup.reindex'),
      on: { click: function () { reindexOne(p, reBtn); } }
    });
    var head = el('div', { className: 'product-head' },
      ix.image_sha256 ? el('img', { src: '/images/' + ix.image_sha256 + '?w=320', alt: p.title || '', width: '120', height: '120', loading: 'lazy' }) : null,
      el('div', {},
        el('h3', { text: p.title || '#' + p.product_id }),
        el('p', { className: 'muted', text: t('failed.product', { id: p.product_id, shop: p.shop_id }) }),
        p.image_url ? reBtn : null,
        product.note ? el('p', { className: 'muted', role: 'status', text: t(product.note.key, product.note.vars) }) : null));

    var nb = el('div', { className: 'nb' }, el('h3', { text: t('lookup.neighbours') }));
    if (product.neighboursNote) {
      nb.appendChild(el('p', { className: 'muted', text: t(product.neighboursNote.key, product.neighboursNote.vars) }));
    } else if (product.neighbours && !product.neighbours.length) {
      nb.appendChild(el('p', { className: 'muted', text: t('lookup.no_neighbours') }));
    } else if (product.neighbours) {
      var ul = el('ul', { className: 'neighbours' });
      product.neighbours.forEach(function (r) {
        ul.appendChild(el('li', { 'data-product-id': String(r.product_id) },
          el('button', { type: 'button', on: { click: function () { lookup(String(r.product_id), String(r.shop_id)); } } },
            r.image_sha256 ? el('img', { src: '/images/' + r.image_sha256 + '?w=160', alt: r.title || '', width: '160', height: '160', loading: 'lazy' }) : null,
            el('span', { text: r.title || '#' + r.product_id }),
            el('span', { className: 'nscore', text: '#' + r.product_id + ' · ' + LA.percent(r.score) }))));
      });
      nb.appendChild(ul);
    } else {
      nb.appendChild(el('p', { className: 'muted', text: t('dash.loading') }));
    }
    box.replaceChildren(el('div', { className: 'product' }, el('div', {}, head, dl), nb));
  }

  function reindexOne(p, btn) {
    btn.disabled = true;
    api('/api/v1/admin/retry', { method: 'POST', json: { product_id: p.product_id, shop_id: p.shop_id } }).then(function (r) {
      btn.disabled = false;
      product.note = r.ok ? { key: 'lookup.queued' } : { key: 'error.admin', vars: { msg: r.message || (r.network ? t('dash.offline') : r.status) } };
      renderProduct();
      if (r.ok) refresh();
    });
  }

  LA.onLang(function () {
    if (!$('login').hidden) $('login-error').textContent = loginError ? t(loginError) : '';
    render();
  });

  if (token) {
    showDash();
    refresh();
  } else {
    showLogin();
  }
})();
