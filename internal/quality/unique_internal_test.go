package quality

import (
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

func TestCountDuplicates(t *testing.T) {
	for _, n := range []int{0, 1, 2, 1000, 5000, 300_000} {
		values := make([]uint64, n)
		for i := range values {
			switch {
			case i%5 == 4:
				// A repeat of an earlier value.
				values[i] = values[rand.IntN(i)]
			case i%1000 == 3:
				values[i] = 0
			default:
				values[i] = rand.Uint64()
			}
		}
		seen := map[uint64]bool{}
		var wantDistinct, wantDuplicates int64
		for _, v := range values {
			if seen[v] {
				wantDuplicates++
			} else {
				seen[v] = true
				wantDistinct++
			}
		}
		distinct, duplicates := countDuplicates(slices.Clone(values))
		if distinct != wantDistinct || duplicates != wantDuplicates {
			t.Errorf("countDuplicates of %d values = %d distinct, %d duplicates; expected %d and %d",
				n, distinct, duplicates, wantDistinct, wantDuplicates)
		}
	}
}

// BenchmarkUniqueValue measures the cost of one value of a unique column:
// its hash, the append and its share of the final sort.
func BenchmarkUniqueValue(b *testing.B) {
	const n = 50_000
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = []byte("4f7c2a8e-1111-2222-3333-" + strconv.Itoa(100000000000+i) + "-12")
	}
	seed := maphash.MakeSeed()
	for b.Loop() {
		var l hashList
		for _, k := range keys {
			if len(l.values) == cap(l.values) {
				l.grow(DefaultUniqueMaxValues)
			}
			l.values = append(l.values, maphash.Bytes(seed, k))
		}
		if _, dup := l.count(); dup != 0 {
			b.Fatalf("%d duplicates among distinct keys", dup)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/value")
}
