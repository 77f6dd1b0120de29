package report

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/raftlab/raftlab/report/browsertest"
)

func fileURL(p string) string {
	abs, _ := filepath.Abs(p)
	return "file://" + filepath.ToSlash(abs)
}

// expected counts the rows the page should show for a filter, from the Go
// side of the report.
func expected(t *testing.T, dir string, keep func(Row) bool) int {
	t.Helper()
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, row := range Rows(r.Ops, Actions(r.Ops)) {
		if keep(row) {
			n++
		}
	}
	return n
}

// TestBrowserInvalidReport opens the report of a real invalid run in
// Chromium: verdict, charts, filters, op links and the Porcupine
// visualisation, with no JavaScript error.
func TestBrowserInvalidReport(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test (needs Chromium)")
	}
	dir := copyDir(t, invalidRun)
	writeReport(t, dir)
	b := browsertest.New(t)
	b.Do("open the report", chromedp.Navigate(fileURL(filepath.Join(dir, ReportFile))))
	b.WaitFor(`document.documentElement.dataset.rendered`, 10*time.Second)

	if v := browsertest.Eval[string](b, `document.querySelector('#verdict h1').textContent`); v != "Invalid" {
		t.Errorf("verdict heading = %q, want Invalid", v)
	}
	clientRows := expected(t, dir, func(r Row) bool { return r.Outcome != outNem })
	if n := browsertest.Eval[int](b, `Number(document.getElementById('chart').dataset.points)`); n != clientRows {
		t.Errorf("latency plot drew %d dots, want one per client op (%d)", n, clientRows)
	}
	// The canvas really has ink in the latency plot: count non-white pixels.
	ink := browsertest.Eval[int](b, `(function(){var c=document.getElementById('chart'),g=c.getContext('2d');
		var d=g.getImageData(0,0,c.width,c.height).data,n=0;for(var i=0;i<d.length;i+=4){if(d[i]<250||d[i+1]<250||d[i+2]<250)n++;}return n;})()`)
	if ink < 5000 {
		t.Errorf("the chart canvas is almost blank (%d coloured pixels)", ink)
	}
	// Fault windows and leaders made it into the page data.
	if n := browsertest.Eval[int](b, `JSON.parse(document.getElementById('data').textContent).windows.length`); n < 2 {
		t.Errorf("%d fault windows in the page, want the clock and partition windows", n)
	}

	// Filters.
	all := expected(t, dir, func(Row) bool { return true })
	count := func() int {
		return browsertest.Eval[int](b, `Number(document.getElementById('hist-view').dataset.count)`)
	}
	if n := count(); n != all {
		t.Errorf("history table shows %d rows, want %d", n, all)
	}
	b.Do("filter by outcome", chromedp.SetValue(chromedp.ID("f-outcome"), "info"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('f-outcome').dispatchEvent(new Event('change'))`))
	if n, want := count(), expected(t, dir, func(r Row) bool { return r.Outcome == outInfo }); n != want || want == 0 {
		t.Errorf("outcome=info shows %d rows, want %d", n, want)
	}
	b.Do("clear", chromedp.Click(chromedp.ID("f-clear")))
	b.Do("filter by process", chromedp.SendKeys(chromedp.ID("f-process"), "nemesis"))
	if n, want := count(), expected(t, dir, func(r Row) bool { return r.Outcome == outNem }); n != want || want == 0 {
		t.Errorf("process=nemesis shows %d rows, want %d", n, want)
	}
	b.Do("clear", chromedp.Click(chromedp.ID("f-clear")))
	keyOpt := browsertest.Eval[string](b, `[...document.querySelectorAll('#f-key option')].find(o=>o.textContent==='k1').value`)
	fOpt := browsertest.Eval[string](b, `[...document.querySelectorAll('#f-f option')].find(o=>o.textContent==='read').value`)
	b.Do("filter by key and f", chromedp.SetValue(chromedp.ID("f-key"), keyOpt), chromedp.SetValue(chromedp.ID("f-f"), fOpt),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('f-f').dispatchEvent(new Event('change'))`))
	if n, want := count(), expected(t, dir, func(r Row) bool { return r.Key == "k1" && r.F == "read" }); n != want || want == 0 {
		t.Errorf("key=k1 f=read shows %d rows, want %d", n, want)
	}
	if got := browsertest.Eval[int](b, `[...document.querySelectorAll('#hist-body .tr')].filter(r=>r.children[4].textContent!=='k1'||r.children[3].textContent!=='read').length`); got != 0 {
		t.Errorf("%d visible rows do not match key=k1 f=read", got)
	}

	// An explanation's op link finds the op in the table, even when filtered out.
	b.Do("click op 48", chromedp.Click(chromedp.CSS(`#key-k0 a[href="#op-48"]`)))
	b.WaitFor(`document.querySelector('#hist-body .tr.hl')`, 5*time.Second)
	if i := browsertest.Eval[string](b, `document.querySelector('#hist-body .tr.hl').dataset.i`); i != "48" {
		t.Errorf("highlighted row is op %s, want 48", i)
	}
	if n := count(); n != all {
		t.Errorf("following an op link should clear the filters: %d of %d rows shown", n, all)
	}
	if n := browsertest.Eval[int](b, `document.querySelectorAll('iframe.vis').length`); n == 0 {
		t.Error("no Porcupine visualisation embedded")
	}
	b.Do("top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0,0)`))
	b.Screenshot("report-invalid")
	b.Do("show the first visualisation", chromedp.Evaluate[chromedp.Void](`document.querySelector('iframe.vis').scrollIntoView()`))
	time.Sleep(2 * time.Second) // the iframe is opaque under file://: give it time to draw
	b.ScreenshotOf("#keys article", "report-invalid-key0")
	b.ScreenshotOf("iframe.vis", "report-invalid-key0-visualisation")
	b.ScreenshotOf("#keys", "report-invalid-keys")
	b.ScreenshotOf("#history", "report-invalid-history")
	b.ScreenshotOf("#over-time", "report-invalid-charts")
	b.NoErrors()

	// The visualisation itself renders (its own page; file:// iframes are
	// opaque to the parent).
	b.Do("open the visualisation", chromedp.Navigate(fileURL(filepath.Join(dir, "linearizability", "key-k0.html"))))
	b.WaitFor(`document.querySelectorAll('svg rect, svg text').length > 20`, 10*time.Second)
	b.Screenshot("porcupine-k0")
	b.NoErrors()
}

func TestBrowserValidReport(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test (needs Chromium)")
	}
	dir := copyDir(t, validRun)
	writeReport(t, dir)
	b := browsertest.New(t)
	b.Do("open the report", chromedp.Navigate(fileURL(filepath.Join(dir, ReportFile))))
	b.WaitFor(`document.documentElement.dataset.rendered`, 10*time.Second)
	if v := browsertest.Eval[string](b, `document.querySelector('#verdict h1').textContent`); v != "Valid" {
		t.Errorf("verdict heading = %q, want Valid", v)
	}
	if n := browsertest.Eval[int](b, `JSON.parse(document.getElementById('data').textContent).leaders.length`); n < 2 {
		t.Errorf("%d leader spans; the run killed every node, so the leader changed", n)
	}
	b.Screenshot("report-valid")
	b.NoErrors()
}

// TestBrowserBareRun opens the report of a folder with only a history (no
// logs, no results, no spec): the page must still draw without errors.
func TestBrowserBareRun(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test (needs Chromium)")
	}
	dir := bigRun(t, 3000)
	for _, f := range []string{ResultsFile, SpecFile} {
		os.Remove(filepath.Join(dir, f))
	}
	writeReport(t, dir)
	b := browsertest.New(t)
	b.Do("open the report", chromedp.Navigate(fileURL(filepath.Join(dir, ReportFile))))
	b.WaitFor(`document.documentElement.dataset.painted`, 10*time.Second)
	if v := browsertest.Eval[string](b, `document.querySelector('#verdict h1').textContent`); v != "No verdict" {
		t.Errorf("verdict heading = %q, want No verdict", v)
	}
	if n := browsertest.Eval[int](b, `Number(document.getElementById('chart').dataset.points)`); n != 3000 {
		t.Errorf("drew %d dots, want 3000", n)
	}
	b.NoErrors()
}
