package sftp

import (
	"context"
	"sync"
)

// serverLimits holds one uploadLimit per user@host:port for the life of the
// process. Entries are never removed, so the map grows with the number of
// distinct servers dialed, which is the number of configured destinations.
var serverLimits = struct {
	sync.Mutex
	byServer map[string]*uploadLimit
}{byServer: make(map[string]*uploadLimit)}

// limitFor returns the limit shared by the destinations of one server and
// sets its size.
func limitFor(server string, size int) *uploadLimit {
	serverLimits.Lock()
	defer serverLimits.Unlock()
	limit, ok := serverLimits.byServer[server]
	if !ok {
		limit = &uploadLimit{changed: make(chan struct{})}
		serverLimits.byServer[server] = limit
	}
	limit.setSize(size)
	return limit
}

// uploadLimit is a counting semaphore whose size can change while it is in
// use. Lowering the size lets running uploads finish and holds back new ones
// until the count drops below it.
type uploadLimit struct {
	mu     sync.Mutex
	size   int
	active int
	// changed is closed and replaced whenever a slot may have become free.
	changed chan struct{}
}

func (l *uploadLimit) setSize(size int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.size = size
	l.notifyLocked()
}

// acquire waits for a free slot or for ctx to be done.
func (l *uploadLimit) acquire(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.active < l.size {
			l.active++
			l.mu.Unlock()
			return nil
		}
		changed := l.changed
		l.mu.Unlock()

		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (l *uploadLimit) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.active--
	l.notifyLocked()
}

func (l *uploadLimit) notifyLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}
