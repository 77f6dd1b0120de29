package serve

import (
	"fmt"
	"html/template"
	"time"
)

type indexPage struct {
	Root string
	Runs []Run
	CSS  template.CSS
	JS   template.JS
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"unix": func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMilli()
	},
	"esc":  escapePath,
	"size": sizeText,
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

var indexTmpl = template.Must(template.New("index").Funcs(funcs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>raftlab runs</title><style>{{.CSS}}</style></head>
<body>
<header><h1>raftlab runs</h1><p>{{len .Runs}} runs in <code>{{.Root}}</code>, newest first. Click a column to sort; type to filter.
A run's verdict: <span class="chip v-valid">valid</span> <span class="chip v-invalid">invalid</span>
<span class="chip v-unknown">unknown</span> <span class="chip v-incomplete">incomplete</span> (no verdict yet, or the lab failed).</p></header>
<main>
<div class="filters"><label>Filter <input id="filter" size="30" placeholder="name, workload, nemesis, verdict…" autofocus></label>
<label>Verdict <select id="verdict"><option value="">all</option><option>valid</option><option>invalid</option><option>unknown</option><option>incomplete</option></select></label>
<span id="count"></span></div>
{{if .Runs}}
<table id="runs" class="grid">
<thead><tr><th data-sort="name">Name</th><th data-sort="time" class="sorted desc">Time (UTC)</th><th data-sort="workload">Workload</th><th data-sort="nemesis">Nemesis</th><th data-sort="nodes">Nodes</th><th data-sort="ops">Ops</th><th data-sort="verdict">Verdict</th><th>Files</th></tr></thead>
<tbody>
{{range .Runs}}<tr class="run" data-name="{{.Name}}" data-time="{{unix .Started}}" data-workload="{{.Workload}}" data-nemesis="{{.Nemesis}}" data-nodes="{{.Nodes}}" data-ops="{{.Ops}}" data-verdict="{{.Verdict}}" data-path="{{.Path}}">
<td><a class="open" href="/runs/{{esc .Path}}/report.html">{{.Name}}</a></td><td>{{when .Started}}</td><td>{{.Workload}}</td><td>{{.Nemesis}}</td><td>{{.Nodes}}</td><td>{{.Ops}}</td>
<td class="verdict v-{{.Verdict}}" title="{{.Reason}}">{{.Verdict}}</td>
<td class="links"><a href="/runs/{{esc .Path}}/report.html">report</a>{{if not .HasReport}}<sup title="no report.html stored: built on the fly">*</sup>{{end}} · {{if ne .Verdict "incomplete"}}<a href="/runs/{{esc .Path}}/results.json">results</a> · {{end}}<a href="/runs/{{esc .Path}}/history.jsonl">history</a> · <a href="/runs/{{esc .Path}}/">files</a> · <a class="download" href="/archive/{{esc .Path}}.tar.gz">download .tar.gz</a></td></tr>
{{end}}</tbody></table>
{{else}}<p>No runs yet: start one with <code>labctl test</code>.</p>{{end}}
</main>
<script>{{.JS}}</script>
</body></html>
`))

var listTmpl = template.Must(template.New("list").Funcs(funcs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Path}} — raftlab</title><style>{{.CSS}}</style></head>
<body><header><h1><a href="/">raftlab runs</a> / {{.Path}}</h1>
{{if .IsRun}}<p><a href="report.html">Open the report</a> · <a class="download" href="{{.Archive}}">download this run (.tar.gz)</a></p>{{end}}</header>
<main><table class="grid"><thead><tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr></thead><tbody>
{{range .Entries}}<tr><td><a href="{{.Href}}">{{.Name}}{{if .Dir}}/{{end}}</a></td><td>{{if not .Dir}}{{size .Size}}{{end}}</td><td>{{when .Mod}}</td></tr>
{{end}}</tbody></table></main></body></html>
`))

const indexCSS = `
:root { --valid:#6DB6FE; --unknown:#FFAA26; --invalid:#FEB5DA; --incomplete:#eaeaea; }
body { margin:0; font:14px/1.45 system-ui, "DejaVu Sans", sans-serif; color:#222; background:#fafafa; }
header { padding:12px 24px; background:#fff; border-bottom:1px solid #ddd; }
header h1 { margin:0 0 4px; font-size:22px; }
main { padding:12px 24px; }
.filters { display:flex; gap:16px; align-items:center; margin-bottom:10px; }
#count { color:#555; }
table.grid { border-collapse:collapse; background:#fff; }
table.grid th, table.grid td { border:1px solid #ddd; padding:4px 10px; text-align:left; }
table.grid th { background:#f0f0f0; }
th[data-sort] { cursor:pointer; user-select:none; }
th.sorted.asc::after { content:" ▲"; } th.sorted.desc::after { content:" ▼"; }
.v-valid { background:var(--valid); } .v-invalid { background:var(--invalid); } .v-unknown { background:var(--unknown); } .v-incomplete { background:var(--incomplete); }
td.verdict { font-weight:600; }
.chip { padding:1px 6px; border-radius:3px; }
td.links { white-space:nowrap; }
`

const indexJS = `(function () {
  'use strict';
  var table = document.getElementById('runs');
  if (!table) return;
  var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
  var filter = document.getElementById('filter'), verdict = document.getElementById('verdict'), count = document.getElementById('count');
  var key = 'time', dir = -1;
  var numeric = { time: true, nodes: true, ops: true };
  function apply() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean), v = verdict.value, shown = 0;
    rows.sort(function (a, b) {
      var x = a.dataset[key], y = b.dataset[key];
      var c = numeric[key] ? Number(x) - Number(y) : x.localeCompare(y, undefined, { numeric: true });
      if (c === 0) c = Number(a.dataset.time) - Number(b.dataset.time);
      return c * dir;
    });
    rows.forEach(function (r) {
      var text = [r.dataset.name, r.dataset.workload, r.dataset.nemesis, r.dataset.verdict, r.dataset.path].join(' ').toLowerCase();
      var ok = (!v || r.dataset.verdict === v) && words.every(function (w) { return text.indexOf(w) >= 0; });
      r.hidden = !ok;
      if (ok) shown++;
      body.appendChild(r);
    });
    count.textContent = shown + ' of ' + rows.length + ' runs';
    table.dataset.shown = shown;
  }
  Array.prototype.forEach.call(table.tHead.querySelectorAll('th[data-sort]'), function (th) {
    th.addEventListener('click', function () {
      var k = th.dataset.sort;
      dir = k === key ? -dir : (numeric[k] ? -1 : 1);
      key = k;
      Array.prototype.forEach.call(table.tHead.querySelectorAll('th'), function (h) { h.classList.remove('sorted', 'asc', 'desc'); });
      th.classList.add('sorted', dir > 0 ? 'asc' : 'desc');
      apply();
    });
  });
  filter.addEventListener('input', apply);
  verdict.addEventListener('change', apply);
  apply();
})();`
