// raftlab report: charts on a canvas and a virtual history table, drawn from
// the JSON in #data. No libraries, no network.
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('data').textContent);
  var R = D.rows, N = R.t.length;
  var OUT = ['ok', 'info', 'fail', 'open', 'nemesis'];
  var OUTC = ['#81BFFC', '#FFA400', '#FF1E90', '#FFA400', '#888888'];
  var FAULT = D.colors.fault;
  var KINDS = ['partition', 'kill', 'pause', 'clock'];
  var QCOL = { '0.5': '#1f3a93', '0.95': '#2e7d32', '0.99': '#7b1fa2', '1': '#555555' };
  var END = Math.max(D.end, 1);

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function fmtS(msv) { return (msv / 1000).toFixed(3) + ' s'; }
  function fmtMs(v) { return v >= 1000 ? (v / 1000).toFixed(2) + ' s' : v >= 10 ? v.toFixed(0) + ' ms' : v.toFixed(2) + ' ms'; }
  function ns2ms(v) { return v / 1e6; }

  // ---------- charts ----------
  var canvas = document.getElementById('chart'), tip = document.getElementById('tip');
  var ML = 64, MR = 16, TH = 130, LH = 240, GAP = 26, LANE = 30, AXIS = 26;
  var layout = {};
  function computeLayout(w) {
    var y = 18;
    layout.w = w;
    layout.rate = { top: y, h: TH }; y += TH + GAP;
    layout.lat = { top: y, h: LH }; y += LH + GAP;
    layout.tl = { top: y, h: Math.max(1, D.nodes.length) * LANE }; y += layout.tl.h;
    layout.axis = y; y += AXIS;
    layout.h = y;
  }
  function X(t) { return ML + t / END * (layout.w - ML - MR); }
  function T(x) { return (x - ML) / (layout.w - ML - MR) * END; }

  // Latency y: log scale between the smallest and largest latency.
  var latMin = Infinity, latMax = 0;
  for (var i = 0; i < N; i++) {
    if (R.o[i] === 4) continue;
    var l = R.l[i];
    if (l > 0 && l < latMin) latMin = l;
    if (l > latMax) latMax = l;
  }
  if (!isFinite(latMin)) { latMin = 0.1; latMax = 1000; }
  var lo = Math.pow(10, Math.floor(Math.log10(Math.max(latMin, 0.01))));
  var hi = Math.pow(10, Math.ceil(Math.log10(Math.max(latMax, lo * 10))));
  function YL(v) {
    var p = layout.lat;
    var f = (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
    return p.top + p.h - f * p.h;
  }
  var rateMax = 1;
  ['ok', 'info', 'fail'].forEach(function (k) { D.rates[k].forEach(function (v) { if (v > rateMax) rateMax = v; }); });
  rateMax = niceMax(rateMax);
  function niceMax(v) {
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }
  function YR(v) { var p = layout.rate; return p.top + p.h - v / rateMax * p.h; }

  function timeTicks() {
    var span = END / 1000, want = Math.max(2, Math.floor((layout.w - ML - MR) / 90));
    var steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
    var step = steps[steps.length - 1];
    for (var i = 0; i < steps.length; i++) if (span / steps[i] <= want) { step = steps[i]; break; }
    var out = [];
    for (var s = 0; s <= span + 1e-9; s += step) out.push(s * 1000);
    return out;
  }

  var drawn = 0;
  function draw() {
    var dpr = window.devicePixelRatio || 1;
    var w = Math.max(canvas.parentNode.clientWidth, 400);
    computeLayout(w);
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(layout.h * dpr);
    canvas.style.height = layout.h + 'px';
    var g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, layout.h);
    g.font = '11px system-ui, sans-serif';
    var panels = [layout.rate, layout.lat];
    // Fault windows, shaded in both plots, named above the latency plot.
    D.windows.forEach(function (win) {
      var x0 = X(ns2ms(win.start)), x1 = Math.max(X(ns2ms(win.end)), x0 + 1);
      g.globalAlpha = 0.6; g.fillStyle = FAULT[win.kind] || '#cccccc';
      panels.forEach(function (p) { g.fillRect(x0, p.top, x1 - x0, p.h); });
      g.globalAlpha = 1;
    });
    // Grid and time axis.
    var ticks = timeTicks();
    g.strokeStyle = '#e6e6e6'; g.lineWidth = 1; g.fillStyle = '#333'; g.textAlign = 'center';
    ticks.forEach(function (t) {
      var x = Math.round(X(t)) + 0.5;
      g.beginPath(); g.moveTo(x, layout.rate.top); g.lineTo(x, layout.axis); g.stroke();
      g.fillText((t / 1000).toString().replace(/(\.\d\d)\d+$/, '$1') + ' s', x, layout.axis + 14);
    });
    // Nemesis actions.
    g.strokeStyle = 'rgba(80,80,80,.35)';
    D.actions.forEach(function (a) {
      var x = Math.round(X(a.t)) + 0.5;
      g.beginPath(); g.moveTo(x, layout.rate.top); g.lineTo(x, layout.lat.top + layout.lat.h); g.stroke();
    });
    // Window names, where they fit.
    g.textAlign = 'left'; g.fillStyle = '#333';
    D.windows.forEach(function (win, k) {
      var x0 = X(ns2ms(win.start)), x1 = X(ns2ms(win.end));
      var label = win.kind + (win.nodes && win.nodes.length ? ' ' + win.nodes.join(' ') : '');
      if (g.measureText(label).width < x1 - x0 + 40) g.fillText(label, x0 + 2, layout.lat.top + 11 + (k % 2) * 12);
    });
    // Throughput.
    axisY(g, layout.rate, 'ops/s', [0, rateMax / 2, rateMax], YR, function (v) { return String(Math.round(v)); });
    var wdt = D.rates.width;
    [['ok', '#81BFFC'], ['fail', '#FF1E90'], ['info', '#FFA400']].forEach(function (s) {
      var vs = D.rates[s[0]];
      g.strokeStyle = s[1]; g.lineWidth = 2; g.beginPath();
      for (var i = 0; i < vs.length; i++) {
        var x = X(Math.min((i + 0.5) * wdt, END)), y = YR(vs[i]);
        if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
      }
      g.stroke();
    });
    g.lineWidth = 1;
    // Latency: every op a dot, ok first so that rarer outcomes stay visible.
    var ticksL = [];
    for (var v = lo; v <= hi * 1.0001; v *= 10) ticksL.push(v);
    axisY(g, layout.lat, 'latency', ticksL, YL, fmtMs);
    drawn = 0;
    [0, 2, 1, 3].forEach(function (o) {
      g.fillStyle = OUTC[o];
      for (var i = 0; i < N; i++) {
        if (R.o[i] !== o) continue;
        g.fillRect(X(R.t[i]) - 1, YL(R.l[i]) - 1, 2.5, 2.5);
        drawn++;
      }
    });
    // Quantile lines.
    var qw = D.quantiles.width;
    Object.keys(QCOL).forEach(function (q) {
      var vs = D.quantiles.q[q]; if (!vs) return;
      g.strokeStyle = QCOL[q]; g.lineWidth = q === '1' ? 1 : 1.6;
      g.setLineDash(q === '1' ? [3, 3] : []);
      g.beginPath(); var pen = false;
      for (var i = 0; i < vs.length; i++) {
        if (vs[i] == null) { pen = false; continue; }
        var x = X(Math.min((i + 0.5) * qw, END)), y = YL(vs[i]);
        if (pen) g.lineTo(x, y); else g.moveTo(x, y);
        pen = true;
      }
      g.stroke();
    });
    g.setLineDash([]); g.lineWidth = 1;
    // Nemesis timeline: a lane per node, a band per fault kind, a dark bar while leader.
    var tl = layout.tl;
    g.textAlign = 'right';
    D.nodes.forEach(function (n, k) {
      var y = tl.top + k * LANE;
      g.fillStyle = k % 2 ? '#fbfbfb' : '#f2f2f2';
      g.fillRect(ML, y, layout.w - ML - MR, LANE - 2);
      g.fillStyle = '#222'; g.fillText(n, ML - 6, y + LANE / 2 + 3);
    });
    var band = (LANE - 8) / KINDS.length;
    D.segments.forEach(function (s) {
      var k = D.nodes.indexOf(s.node); if (k < 0) return;
      var b = KINDS.indexOf(s.kind); if (b < 0) b = 0;
      var x0 = X(ns2ms(s.start)), x1 = Math.max(X(ns2ms(s.end)), x0 + 2);
      g.fillStyle = FAULT[s.kind] || '#ccc';
      g.fillRect(x0, tl.top + k * LANE + b * band, x1 - x0, band);
    });
    D.leaders.forEach(function (s) {
      var k = D.nodes.indexOf(s.node); if (k < 0) return;
      var x0 = X(ns2ms(s.start)), x1 = Math.max(X(ns2ms(s.end)), x0 + 2);
      g.fillStyle = '#333';
      g.fillRect(x0, tl.top + k * LANE + LANE - 7, x1 - x0, 4);
    });
    g.textAlign = 'left';
    g.fillStyle = '#333'; g.fillText('nodes: faults and leadership', ML, tl.top - 6);
    canvas.dataset.points = drawn;
  }
  function axisY(g, p, name, ticks, Y, fmt) {
    g.strokeStyle = '#999'; g.fillStyle = '#333'; g.textAlign = 'right';
    g.beginPath(); g.moveTo(ML + 0.5, p.top); g.lineTo(ML + 0.5, p.top + p.h); g.lineTo(layout.w - MR, p.top + p.h); g.stroke();
    g.strokeStyle = '#eeeeee';
    ticks.forEach(function (v) {
      var y = Math.round(Y(v)) + 0.5;
      g.beginPath(); g.moveTo(ML, y); g.lineTo(layout.w - MR, y); g.stroke();
      g.fillText(fmt(v), ML - 4, y + 4);
    });
    g.save(); g.translate(12, p.top + p.h / 2); g.rotate(-Math.PI / 2); g.textAlign = 'center'; g.fillText(name, 0, 0); g.restore();
  }

  // Legend.
  (function () {
    var items = [['#81BFFC', 'ok'], ['#FFA400', 'info'], ['#FF1E90', 'fail']];
    var h = '<b>Ops:</b> ' + items.map(function (x) { return '<span class="item"><i style="background:' + x[0] + '"></i>' + x[1] + '</span>'; }).join('');
    h += ' <b>Latency quantiles:</b> ' + Object.keys(QCOL).map(function (q) { return '<span class="item"><i style="height:3px;background:' + QCOL[q] + '"></i>' + (q === '1' ? 'max' : 'p' + (q * 100)) + '</span>'; }).join('');
    h += ' <b>Faults:</b> ' + KINDS.map(function (k) { return '<span class="item"><i style="background:' + FAULT[k] + '"></i>' + k + '</span>'; }).join('');
    h += '<span class="item"><i style="background:#333;height:4px"></i>leader</span>';
    document.getElementById('legend').innerHTML = h;
  })();

  // Nearest dot to (x, y) in the latency plot; rows are in time order.
  function nearest(x, y) {
    var t0 = T(x - 4), t1 = T(x + 4), a = 0, b = N;
    while (a < b) { var m = (a + b) >> 1; if (R.t[m] < t0) a = m + 1; else b = m; }
    var best = -1, bd = 49;
    for (var i = a; i < N && R.t[i] <= t1; i++) {
      if (R.o[i] === 4) continue;
      var dx = X(R.t[i]) - x, dy = YL(R.l[i]) - y, d = dx * dx + dy * dy;
      if (d < bd) { bd = d; best = i; }
    }
    return best;
  }
  function at(list, t) {
    return list.filter(function (s) { var a = ns2ms(s.start), b = ns2ms(s.end); return a <= t && t <= Math.max(b, a + END / 400); });
  }
  canvas.addEventListener('mousemove', function (e) {
    var rect = canvas.getBoundingClientRect(), x = e.clientX - rect.left, y = e.clientY - rect.top;
    if (x < ML || x > layout.w - MR) { tip.hidden = true; return; }
    var t = T(x), lines = ['t = ' + fmtS(t)];
    if (y >= layout.lat.top && y <= layout.lat.top + layout.lat.h) {
      var i = nearest(x, y);
      if (i >= 0) lines.push(rowText(i));
    } else if (y >= layout.rate.top && y <= layout.rate.top + layout.rate.h) {
      var b = Math.floor(t / D.rates.width);
      if (b >= 0 && b < D.rates.ok.length) lines.push('ok ' + D.rates.ok[b].toFixed(0) + '/s, info ' + D.rates.info[b].toFixed(0) + '/s, fail ' + D.rates.fail[b].toFixed(0) + '/s');
    } else if (y >= layout.tl.top && y < layout.tl.top + layout.tl.h) {
      var node = D.nodes[Math.floor((y - layout.tl.top) / LANE)];
      lines.push('node ' + node + ':');
      at(D.segments, t).forEach(function (s) { if (s.node === node) lines.push('  ' + s.label + ' (' + s.cause + ')'); });
      at(D.leaders, t).forEach(function (s) { if (s.node === node) lines.push('  leader, term ' + s.term); });
    }
    at(D.windows, t).forEach(function (w) { lines.push(w.kind + ': ' + w.label); });
    tip.textContent = lines.join('\n');
    tip.hidden = false;
    var left = x + 14; if (left + 300 > layout.w) left = Math.max(0, x - 320);
    tip.style.left = left + 'px'; tip.style.top = (y + 12) + 'px';
  });
  canvas.addEventListener('mouseleave', function () { tip.hidden = true; });
  canvas.addEventListener('click', function (e) {
    var rect = canvas.getBoundingClientRect(), x = e.clientX - rect.left, y = e.clientY - rect.top;
    if (y < layout.lat.top || y > layout.lat.top + layout.lat.h) return;
    var i = nearest(x, y);
    if (i >= 0) location.hash = '#op-' + R.i[i];
  });
  function rowText(i) {
    var s = 'op ' + R.i[i] + ': ' + (R.p[i] < 0 ? 'nemesis' : 'process ' + R.p[i]) + ' ' + D.dict.f[R.f[i]];
    if (R.k[i] >= 0) s += ' ' + D.dict.k[R.k[i]];
    if (R.v[i]) s += ' ' + R.v[i];
    s += ' → ' + OUT[R.o[i]] + ', ' + fmtMs(R.l[i]);
    if (R.n[i] >= 0) s += ' on ' + D.dict.n[R.n[i]];
    if (R.e[i] >= 0) s += '\n' + D.dict.e[R.e[i]];
    return s;
  }

  // ---------- history table ----------
  var RH = 22;
  var view = document.getElementById('hist-view'), spacer = document.getElementById('hist-spacer'), body = document.getElementById('hist-body');
  var fProc = document.getElementById('f-process'), fKey = document.getElementById('f-key'), fF = document.getElementById('f-f');
  var fOut = document.getElementById('f-outcome'), fText = document.getElementById('f-text'), fCount = document.getElementById('f-count');
  function options(sel, list) {
    var order = list.map(function (s, i) { return [s, i]; }).sort(function (a, b) { return a[0].localeCompare(b[0], undefined, { numeric: true }); });
    sel.insertAdjacentHTML('beforeend', order.map(function (x) { return '<option value="' + x[1] + '">' + esc(x[0]) + '</option>'; }).join(''));
  }
  options(fKey, D.dict.k); options(fF, D.dict.f);
  var idx = new Int32Array(N), count = 0, hl = -1;
  function applyFilters() {
    var procs = null;
    if (fProc.value.trim() !== '') {
      procs = {};
      fProc.value.split(/[\s,]+/).forEach(function (p) { if (p !== '') procs[p === 'nemesis' ? -1 : Number(p)] = true; });
    }
    var k = fKey.value === '' ? null : Number(fKey.value), f = fF.value === '' ? null : Number(fF.value);
    var o = fOut.value === '' ? null : OUT.indexOf(fOut.value), text = fText.value.trim().toLowerCase();
    count = 0;
    for (var i = 0; i < N; i++) {
      if (procs && !procs[R.p[i]]) continue;
      if (k !== null && R.k[i] !== k) continue;
      if (f !== null && R.f[i] !== f) continue;
      if (o !== null && R.o[i] !== o) continue;
      if (text && R.v[i].toLowerCase().indexOf(text) < 0 && (R.e[i] < 0 || D.dict.e[R.e[i]].toLowerCase().indexOf(text) < 0)) continue;
      idx[count++] = i;
    }
    spacer.style.height = (count * RH) + 'px';
    fCount.textContent = count + ' of ' + N + ' ops';
    view.dataset.count = count;
    renderRows();
  }
  function renderRows() {
    var first = Math.max(0, Math.floor(view.scrollTop / RH) - 5);
    var last = Math.min(count, first + Math.ceil(view.clientHeight / RH) + 10);
    var h = [];
    for (var j = first; j < last; j++) {
      var i = idx[j];
      var cls = 'tr o' + R.o[i] + (i === hl ? ' hl' : '');
      h.push('<div class="' + cls + '" data-i="' + R.i[i] + '">' +
        '<span>' + R.i[i] + (R.c[i] >= 0 && R.c[i] !== R.i[i] ? '→' + R.c[i] : '') + '</span>' +
        '<span>' + (R.t[i] / 1000).toFixed(3) + '</span>' +
        '<span>' + (R.p[i] < 0 ? 'nemesis' : R.p[i]) + '</span>' +
        '<span>' + esc(D.dict.f[R.f[i]]) + '</span>' +
        '<span>' + (R.k[i] >= 0 ? esc(D.dict.k[R.k[i]]) : '') + '</span>' +
        '<span title="' + esc(R.v[i]) + '">' + esc(R.v[i]) + '</span>' +
        '<span class="oc">' + OUT[R.o[i]] + '</span>' +
        '<span>' + fmtMs(R.l[i]) + '</span>' +
        '<span>' + (R.n[i] >= 0 ? esc(D.dict.n[R.n[i]]) : '') + '</span>' +
        '<span title="' + (R.e[i] >= 0 ? esc(D.dict.e[R.e[i]]) : '') + '">' + (R.e[i] >= 0 ? esc(D.dict.e[R.e[i]]) : '') + '</span></div>');
    }
    body.style.transform = 'translateY(' + (first * RH) + 'px)';
    body.innerHTML = h.join('');
  }
  var pending = false;
  view.addEventListener('scroll', function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; renderRows(); });
  });
  [fProc, fText].forEach(function (el) { el.addEventListener('input', applyFilters); });
  [fKey, fF, fOut].forEach(function (el) { el.addEventListener('change', applyFilters); });
  document.getElementById('f-clear').addEventListener('click', function () {
    fProc.value = ''; fKey.value = ''; fF.value = ''; fOut.value = ''; fText.value = ''; applyFilters();
  });

  // #op-N: show the op whose invocation or completion has index N.
  var byIndex = new Map();
  for (var j = 0; j < N; j++) { byIndex.set(R.i[j], j); if (R.c[j] >= 0 && !byIndex.has(R.c[j])) byIndex.set(R.c[j], j); }
  function showOp() {
    var m = /^#op-(\d+)$/.exec(location.hash);
    if (!m) return;
    var i = byIndex.get(Number(m[1]));
    if (i === undefined) return;
    hl = i;
    var pos = -1;
    for (var j = 0; j < count; j++) if (idx[j] === i) { pos = j; break; }
    if (pos < 0) {
      fProc.value = ''; fKey.value = ''; fF.value = ''; fOut.value = ''; fText.value = '';
      applyFilters();
      for (j = 0; j < count; j++) if (idx[j] === i) { pos = j; break; }
    }
    document.getElementById('history').scrollIntoView();
    view.scrollTop = Math.max(0, pos * RH - view.clientHeight / 2);
    renderRows();
  }
  window.addEventListener('hashchange', showOp);

  draw();
  applyFilters();
  if (location.hash) showOp();
  var resizeTimer = 0;
  window.addEventListener('resize', function () { clearTimeout(resizeTimer); resizeTimer = setTimeout(draw, 100); });
  document.documentElement.dataset.rendered = String(Math.round(performance.now()));
  // Painted: after the next frame has been drawn (for measurements).
  requestAnimationFrame(function () {
    setTimeout(function () { document.documentElement.dataset.painted = String(Math.round(performance.now())); }, 0);
  });
})();
