package serve

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/raftlab/raftlab/report/browsertest"
)

// TestBrowserServe drives labctl serve's pages in Chromium: the run list
// (colours, filter, sort), a report opened from it with its Porcupine
// visualisation, and no JavaScript errors.
func TestBrowserServe(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test (needs Chromium)")
	}
	root, _ := testRoot(t)
	s, err := New(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	b := browsertest.New(t)
	b.Do("open the index", chromedp.Navigate(ts.URL+"/"))
	b.WaitFor(`document.getElementById('runs').dataset.shown`, 5*time.Second)

	order := browsertest.Eval[[]string](b, `[...document.querySelectorAll('tr.run')].map(r=>r.dataset.verdict)`)
	if want := []string{"incomplete", "invalid", "valid", "unknown"}; !equal(order, want) {
		t.Errorf("runs newest first have verdicts %v, want %v", order, want)
	}
	colours := browsertest.Eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('tr.run td.verdict')].map(td=>[td.textContent, getComputedStyle(td).backgroundColor]))`)
	for v, c := range map[string]string{"valid": "rgb(109, 182, 254)", "invalid": "rgb(254, 181, 218)", "unknown": "rgb(255, 170, 38)", "incomplete": "rgb(234, 234, 234)"} {
		if colours[v] != c {
			t.Errorf("%s runs are coloured %q, want %s", v, colours[v], c)
		}
	}
	shown := func() int { return browsertest.Eval[int](b, `Number(document.getElementById('runs').dataset.shown)`) }
	b.Do("filter", chromedp.SendKeys(chromedp.ID("filter"), "stale"))
	if n := shown(); n != 1 {
		t.Errorf("filter 'stale' shows %d runs, want 1", n)
	}
	set := func(id, value, event string) {
		t.Helper()
		b.Do("set "+id, chromedp.Evaluate[chromedp.Void](`(function(){var e=document.getElementById('`+id+`');e.value='`+value+`';e.dispatchEvent(new Event('`+event+`'))})()`))
	}
	set("filter", "", "input")
	set("verdict", "valid", "change")
	if n := shown(); n != 1 {
		t.Errorf("verdict=valid shows %d runs, want 1", n)
	}
	set("verdict", "", "change")
	b.Do("sort by name", chromedp.Click(chromedp.CSS(`th[data-sort="name"]`)))
	names := browsertest.Eval[[]string](b, `[...document.querySelectorAll('tr.run')].map(r=>r.dataset.name)`)
	if want := []string{"crashed", "registers-partition-kill", "registers-partition-kill", "stale-reads"}; !equal(names, want) {
		t.Errorf("sorted by name: %v, want %v", names, want)
	}
	b.Screenshot("serve-index")
	b.NoErrors()

	// Open the invalid run's report from the list.
	b.Do("open a report", chromedp.Click(chromedp.CSS(`tr.run[data-verdict="invalid"] a.open`)))
	b.WaitFor(`document.documentElement.dataset.rendered`, 10*time.Second)
	if v := browsertest.Eval[string](b, `document.querySelector('#verdict h1').textContent`); v != "Invalid" {
		t.Errorf("report verdict heading = %q", v)
	}
	// Served over HTTP the visualisation iframe is same-origin: look inside.
	b.Do("scroll to it", chromedp.Evaluate[chromedp.Void](`document.querySelector('iframe.vis').scrollIntoView()`))
	b.WaitFor(`(function(){var f=document.querySelector('iframe.vis');var d=f&&f.contentDocument;return d&&d.querySelectorAll('svg rect, svg text').length>20})()`, 10*time.Second)
	b.Screenshot("serve-report-visualisation")
	b.NoErrors()
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
