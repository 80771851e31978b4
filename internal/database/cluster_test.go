package database

import "testing"

func TestParallelWorkersLeaveLeaderACore(t *testing.T) {
	for cores, want := range map[int]int{1: 0, 2: 1, 3: 2, 16: 2} {
		if got := parallelWorkers(cores); got != want {
			t.Errorf("parallelWorkers(%d) = %d, want %d", cores, got, want)
		}
	}
}
