package llmcapture

import "testing"

func TestParkedCallsOrder(t *testing.T) {
	t.Parallel()
	var p parkedCalls
	k1, k2 := callKey{hash: 1}, callKey{hash: 2}
	a, b, c := &call{key: k1}, &call{key: k1}, &call{key: k2}
	for _, x := range []*call{a, b, c} {
		if !p.add(x) {
			t.Fatal("add failed")
		}
	}
	if got := p.take(k1); got != a {
		t.Error("take did not return the call that waited longest")
	}
	if !p.remove(c) || p.remove(c) {
		t.Error("remove of a parked call, then of an unparked one")
	}
	if got := p.drain(); len(got) != 1 || got[0] != b || p.n != 0 || p.take(k1) != nil {
		t.Errorf("drain = %v, n = %d", got, p.n)
	}
}
