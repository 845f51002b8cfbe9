package server

import (
	"net/http"
	"sync"
	"time"
)

// hub tells the page's live feeds that new spans were stored.
type hub struct {
	mu     sync.Mutex
	subs   map[chan struct{}]bool
	closed chan struct{}
	once   sync.Once
}

func newHub() *hub {
	return &hub{subs: map[chan struct{}]bool{}, closed: make(chan struct{})}
}

// subscribe returns a channel that receives after each notify (several
// notifies may collapse into one) and a function that ends the
// subscription.
func (h *hub) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	h.subs[ch] = true
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

// notify wakes every subscriber without waiting for any.
func (h *hub) notify() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// close ends every feed.
func (h *hub) close() { h.once.Do(func() { close(h.closed) }) }

// events is the page's live feed (server-sent events): an "ingest" event
// each time spans are stored, at most a few per second, and a comment
// every 20 seconds to keep the connection open.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming is not supported here")
		return
	}
	ch, unsubscribe := s.hub.subscribe()
	defer unsubscribe()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("retry: 2000\n\n"))
	flusher.Flush()
	keepAlive := time.NewTicker(20 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.hub.closed:
			return
		case <-keepAlive.C:
			w.Write([]byte(": keep-alive\n\n"))
		case <-ch:
			w.Write([]byte("event: ingest\ndata: {}\n\n"))
		}
		flusher.Flush()
		// Let a burst of exports collapse into one event.
		select {
		case <-time.After(250 * time.Millisecond):
		case <-r.Context().Done():
			return
		case <-s.hub.closed:
			return
		}
	}
}
