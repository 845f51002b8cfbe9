package llmcapture

// parkedCalls holds the calls waiting for a retry, by fingerprint. Several
// calls can wait under one fingerprint: identical calls made at once from
// the same parent (a fan-out that hits a rate limit) are told apart only
// by the order of their attempts, so a retry resumes the call that has
// waited longest. The engine's mutex guards it.
type parkedCalls struct {
	byKey map[callKey][]*call
	n     int
}

// add parks c, unless maxParked calls already wait; c must not be parked.
func (p *parkedCalls) add(c *call) bool {
	if p.n >= maxParked {
		return false
	}
	if p.byKey == nil {
		p.byKey = make(map[callKey][]*call)
	}
	p.byKey[c.key] = append(p.byKey[c.key], c)
	p.n++
	return true
}

// take unparks and returns the call that has waited longest under key, if
// any.
func (p *parkedCalls) take(key callKey) *call {
	list := p.byKey[key]
	if len(list) == 0 {
		return nil
	}
	c := list[0]
	p.set(key, list[1:])
	return c
}

// remove unparks c and reports whether it was parked.
func (p *parkedCalls) remove(c *call) bool {
	list := p.byKey[c.key]
	for i, x := range list {
		if x == c {
			p.set(c.key, append(list[:i:i], list[i+1:]...))
			return true
		}
	}
	return false
}

// set replaces the list of key, which lost one call.
func (p *parkedCalls) set(key callKey, list []*call) {
	p.n--
	if len(list) == 0 {
		delete(p.byKey, key)
		return
	}
	p.byKey[key] = list
}

// drain unparks and returns every call.
func (p *parkedCalls) drain() []*call {
	all := make([]*call, 0, p.n)
	for _, list := range p.byKey {
		all = append(all, list...)
	}
	clear(p.byKey)
	p.n = 0
	return all
}
