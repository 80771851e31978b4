package pipeline

import (
	"io"
	"sync"
	"sync/atomic"
)

const (
	// stageBufferSize is the size of the buffers a stage hands to its
	// goroutine. Writes to the next layer are this size, except the last.
	stageBufferSize = 256 << 10

	// stageBuffers is the number of buffers per stage. It bounds the memory
	// of a stage and how far its producer can run ahead of the next layer.
	stageBuffers = 8
)

// failure records the first error of a group of goroutines and signals it by
// closing a channel, so that blocked senders and receivers can select on it.
type failure struct {
	once     sync.Once
	err      error
	recorded atomic.Bool // set after err, so that get costs one atomic load
	done     chan struct{}
}

func newFailure() *failure {
	return &failure{done: make(chan struct{})}
}

// set records err unless an error is already recorded. It is safe for
// concurrent use.
func (f *failure) set(err error) {
	f.once.Do(func() {
		f.err = err
		f.recorded.Store(true)
		close(f.done)
	})
}

// get returns the recorded error, or nil when there is none yet.
func (f *failure) get() error {
	if !f.recorded.Load() {
		return nil
	}
	return f.err
}

// stage is an asynchronous hand-off to the next layer. Write copies data into
// a buffer from a fixed pool, and a goroutine of the stage writes full
// buffers to next, so the caller waits only when every buffer is in use.
//
// Write and Close must be called from one goroutine at a time; stop may be
// called from any goroutine.
type stage struct {
	next    io.Writer
	current []byte
	free    chan []byte
	full    chan []byte
	failed  *failure
	exited  chan struct{}
}

func newStage(next io.Writer) *stage {
	s := &stage{
		next:   next,
		free:   make(chan []byte, stageBuffers),
		full:   make(chan []byte, stageBuffers),
		failed: newFailure(),
		exited: make(chan struct{}),
	}
	for range stageBuffers {
		// Buffers are allocated on first use, so a small feed does not pay
		// for the whole pool.
		s.free <- nil
	}
	go s.run()
	return s
}

func (s *stage) run() {
	defer close(s.exited)
	for {
		select {
		case buf, ok := <-s.full:
			if !ok {
				return
			}
			if s.failed.get() != nil {
				return
			}
			if _, err := s.next.Write(buf); err != nil {
				s.failed.set(err)
				return
			}
			s.free <- buf[:0]
		case <-s.failed.done:
			return
		}
	}
}

// Write copies p into the stage's buffers. It returns an error once the next
// layer failed or the stage was stopped, and data written before that may not
// have reached the next layer.
func (s *stage) Write(p []byte) (int, error) {
	if err := s.failed.get(); err != nil {
		return 0, err
	}
	written := 0
	for len(p) > 0 {
		if s.current == nil {
			select {
			case buf := <-s.free:
				if buf == nil {
					buf = make([]byte, 0, stageBufferSize)
				}
				s.current = buf
			case <-s.failed.done:
				return written, s.failed.err
			}
		}

		n := copy(s.current[len(s.current):cap(s.current)], p)
		s.current = s.current[:len(s.current)+n]
		p = p[n:]
		written += n

		if len(s.current) == cap(s.current) {
			if err := s.send(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (s *stage) send() error {
	select {
	case s.full <- s.current:
		s.current = nil
		return nil
	case <-s.failed.done:
		return s.failed.err
	}
}

// Close hands over the last partial buffer, waits until the goroutine has
// written every buffer to the next layer, and returns the first error.
func (s *stage) Close() error {
	if len(s.current) > 0 {
		_ = s.send()
	}
	close(s.full)
	<-s.exited
	return s.failed.get()
}

// stop makes the goroutine exit without writing further buffers, and makes
// blocked and later calls of Write return err.
func (s *stage) stop(err error) {
	s.failed.set(err)
}
