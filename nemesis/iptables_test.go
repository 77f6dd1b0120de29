package nemesis

import (
	"context"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// testNodes returns n1..nk at 10.77.0.11, .12, ...
func testNodes(k int) []Node {
	out := make([]Node, k)
	for i, id := range nodeIDs(k) {
		out[i] = Node{ID: id, IP: netip.AddrFrom4([4]byte{10, 77, 0, byte(11 + i)})}
	}
	return out
}

func TestGrudgeCommands(t *testing.T) {
	c, err := MakeCut(ShapeBridge, nodeIDs(5), "", rng(1))
	if err != nil {
		t.Fatal(err)
	}
	got, err := GrudgeCommands(c.Grudge, testNodes(5))
	if err != nil {
		t.Fatal(err)
	}
	flush := "iptables -w -F RAFTLAB"
	want := map[string][]string{
		"n1": {flush, "iptables -w -A RAFTLAB -s 10.77.0.14,10.77.0.15 -j DROP"},
		"n2": {flush, "iptables -w -A RAFTLAB -s 10.77.0.14,10.77.0.15 -j DROP"},
		"n3": {flush}, // the bridge drops nothing
		"n4": {flush, "iptables -w -A RAFTLAB -s 10.77.0.11,10.77.0.12 -j DROP"},
		"n5": {flush, "iptables -w -A RAFTLAB -s 10.77.0.11,10.77.0.12 -j DROP"},
	}
	if !reflect.DeepEqual(joined(got), want) {
		t.Errorf("GrudgeCommands(bridge of 5) = %v, want %v", joined(got), want)
	}

	heal, err := GrudgeCommands(nil, testNodes(3))
	if err != nil {
		t.Fatal(err)
	}
	if w := map[string][]string{"n1": {flush}, "n2": {flush}, "n3": {flush}}; !reflect.DeepEqual(joined(heal), w) {
		t.Errorf("GrudgeCommands(nil) = %v, want only flushes %v", joined(heal), w)
	}

	if _, err := GrudgeCommands(nil, []Node{{ID: "n1"}}); err == nil || !strings.Contains(err.Error(), "no IP") {
		t.Errorf("node without an address: error = %v", err)
	}
	if _, err := GrudgeCommands(Grudge{"n1": {"n7"}}, testNodes(3)); err == nil || !strings.Contains(err.Error(), "n7") {
		t.Errorf("grudge naming an unknown node: error = %v, want one naming n7", err)
	}
}

// joined turns argv lists into command lines.
func joined(m map[string][][]string) map[string][]string {
	out := map[string][]string{}
	for k, cmds := range m {
		for _, c := range cmds {
			out[k] = append(out[k], strings.Join(c, " "))
		}
	}
	return out
}

func TestDropsReadsBackTheRulesInForce(t *testing.T) {
	f, n, _ := setup(3)
	ctx := context.Background()
	if got, err := Drops(ctx, f, "n1"); err != nil || got != nil {
		t.Fatalf("Drops before any partition = %v, %v; want nothing", got, err)
	}
	if err := n.Do(ctx, Step{Fault: Partition, Start: true, Mode: ShapeHalves}); err != nil {
		t.Fatal(err)
	}
	got, err := Drops(ctx, f, "n1")
	want := []netip.Addr{netip.MustParseAddr("10.77.0.12"), netip.MustParseAddr("10.77.0.13")}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Drops(n1) = %v, %v; want %v", got, err, want)
	}
	if err := n.Do(ctx, Step{Fault: Partition}); err != nil {
		t.Fatal(err)
	}
	if got, err := Drops(ctx, f, "n1"); err != nil || len(got) != 0 {
		t.Errorf("Drops(n1) after heal = %v, %v; want none", got, err)
	}
}
