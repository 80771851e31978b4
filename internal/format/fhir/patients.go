package fhir

import (
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
)

// patientSet holds a hash of every Patient id of one run, so the other
// parts can check that their references resolve. At 8 bytes a patient it
// is the only state that grows with the data. A hash collision can let a
// dangling reference through but never drops a row that resolves.
type patientSet struct {
	seed   maphash.Seed
	hashes []uint64
	sealed bool
	// open counts the parts besides Patient that are still to close.
	open int
}

func (s *patientSet) add(id []byte) {
	s.hashes = append(s.hashes, maphash.Bytes(s.seed, id))
}

func (s *patientSet) has(id []byte) bool {
	_, found := slices.BinarySearch(s.hashes, maphash.Bytes(s.seed, id))
	return found
}

// maxRuns bounds the patient sets kept at once. A run that fails between
// its Patient part and its last part leaves its set behind until newer
// runs push it out.
const maxRuns = 4

// runs holds the patient sets of the runs in progress, by run id.
type runs struct {
	mu    sync.Mutex
	sets  map[int64]*patientSet
	order []int64
}

func newRuns() *runs { return &runs{sets: map[int64]*patientSet{}} }

// start replaces the set of run id with an empty one; a retried run
// writes its Patient part again.
func (r *runs) start(id int64, others int) *patientSet {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &patientSet{seed: maphash.MakeSeed(), open: others}
	if _, ok := r.sets[id]; !ok {
		r.order = append(r.order, id)
	}
	r.sets[id] = s
	for len(r.order) > maxRuns {
		delete(r.sets, r.order[0])
		r.order = r.order[1:]
	}
	return s
}

// seal sorts the set once the Patient file is complete, and drops it at
// once when no other part will read it.
func (r *runs) seal(id int64, s *patientSet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	slices.Sort(s.hashes)
	s.sealed = true
	if s.open <= 0 {
		r.drop(id, s)
	}
}

// get returns the sealed set of run id for the resource being started.
func (r *runs) get(id int64, resource string) (*patientSet, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.sets[id]
	if !ok || !s.sealed {
		return nil, fmt.Errorf("fhir %s of run %d: write and close the Patient part of the run first, in this process, "+
			"so references to patients can be checked", resource, id)
	}
	return s, nil
}

// done marks one more part of run id closed, and drops the set after the
// last.
func (r *runs) done(id int64, s *patientSet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.open--
	if s.open <= 0 {
		r.drop(id, s)
	}
}

func (r *runs) drop(id int64, s *patientSet) {
	if r.sets[id] != s {
		return
	}
	delete(r.sets, id)
	r.order = slices.DeleteFunc(r.order, func(x int64) bool { return x == id })
}
