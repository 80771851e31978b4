package quality

import "slices"

// hashList is the list of 64-bit hashes of the non-NULL values of a unique
// column. The hot path only appends to it, and count finds the duplicates
// once after the last row, in passes that touch memory in order or within
// the processor's caches. That costs far less per row than probing one hash
// table that outgrows the caches.
//
// Equal values always have equal hashes, so no duplicate is missed. Two
// different values can share a hash, which reports a duplicate that is not
// there: with n distinct values the chance of any such pair is about
// n²/2⁶⁵, below 3 in 10⁸ at the default limit of a million values and 3 in
// 10⁶ at ten million.
type hashList struct {
	values []uint64
	// counted is the length of values when distinct and duplicates were
	// last counted.
	counted    int
	distinct   int64
	duplicates int64
}

// grow doubles the capacity of the list, to at least 1024 and at most limit
// hashes.
func (l *hashList) grow(limit int64) {
	size := min(max(2*cap(l.values), 1024), int(limit))
	grown := make([]uint64, len(l.values), size)
	copy(grown, l.values)
	l.values = grown
}

// count counts the hashes, unless nothing was added since the last call,
// and returns the number of distinct hashes and of hashes equal to an
// earlier one.
func (l *hashList) count() (distinct, duplicates int64) {
	if l.counted == len(l.values) {
		return l.distinct, l.duplicates
	}
	l.distinct, l.duplicates = countDuplicates(l.values)
	l.counted = len(l.values)
	return l.distinct, l.duplicates
}

// release counts the hashes and frees them. count then keeps returning
// those counts.
func (l *hashList) release() {
	l.count()
	l.values, l.counted = nil, 0
}

// bucketSize is the number of hashes countDuplicates aims to put in one
// bucket, so that a bucket's table of twice as many 8-byte slots stays in
// the processor's L1 or L2 cache.
const bucketSize = 2048

// countDuplicates returns the number of distinct values and of values equal
// to an earlier one. It partitions the values by their top bits into
// buckets of about bucketSize values. That pass reads in order and writes
// to one run per bucket. Then it counts each bucket with a small hash table
// that stays in cache. Equal values share their top bits, so they land in
// the same bucket. The values are hashes, so their bits are uniform and the
// buckets even.
func countDuplicates(values []uint64) (distinct, duplicates int64) {
	if len(values) == 0 {
		return 0, 0
	}
	bits := 0
	for len(values)>>bits > bucketSize && bits < 16 {
		bits++
	}
	buckets := [][]uint64{values}
	if bits > 0 {
		buckets = partition(values, uint(bits))
	}

	largest := 0
	for _, bucket := range buckets {
		largest = max(largest, len(bucket))
	}
	table := make([]uint64, tableSize(largest))
	for _, bucket := range buckets {
		d := countBucket(bucket, table[:tableSize(len(bucket))])
		distinct += d
		duplicates += int64(len(bucket)) - d
	}
	return distinct, duplicates
}

// partition splits values into 2^bits buckets by their top bits.
func partition(values []uint64, bits uint) [][]uint64 {
	shift := 64 - bits
	offsets := make([]int, 1<<bits+1)
	for _, v := range values {
		offsets[v>>shift+1]++
	}
	for i := 1; i < len(offsets); i++ {
		offsets[i] += offsets[i-1]
	}
	parted := make([]uint64, len(values))
	next := slices.Clone(offsets[:len(offsets)-1])
	for _, v := range values {
		d := v >> shift
		parted[next[d]] = v
		next[d]++
	}
	buckets := make([][]uint64, 1<<bits)
	for i := range buckets {
		buckets[i] = parted[offsets[i]:offsets[i+1]]
	}
	return buckets
}

// tableSize returns the power of two at least twice n, so a table of that
// many slots for n values is at most half full.
func tableSize(n int) int {
	size := 1
	for size < 2*n {
		size *= 2
	}
	return size
}

// countBucket returns the number of distinct values in bucket, using table,
// whose length is a power of two at least twice that of bucket, as an
// open-addressing set with linear probing. Zero marks an empty slot, so the
// value zero is counted apart.
func countBucket(bucket, table []uint64) int64 {
	clear(table)
	mask := uint64(len(table) - 1)
	var distinct int64
	zero := false
	for _, v := range bucket {
		if v == 0 {
			if !zero {
				zero = true
				distinct++
			}
			continue
		}
		// The top bits are the same across the bucket, so the low bits
		// index the table.
		for i := v & mask; ; i = (i + 1) & mask {
			if table[i] == v {
				break
			}
			if table[i] == 0 {
				table[i] = v
				distinct++
				break
			}
		}
	}
	return distinct
}
