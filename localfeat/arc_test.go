package localfeat

import "testing"

// arc9 agrees with counting the run around the ring for every mask.
func TestArc9(t *testing.T) {
	for m := uint32(0); m < 1<<16; m++ {
		want, run := false, 0
		for k := 0; k < 16+9; k++ {
			if m&(1<<(k&15)) != 0 {
				run++
			} else {
				run = 0
			}
			if run >= 9 {
				want = true
			}
		}
		if arc9(m) != want {
			t.Fatalf("arc9(%016b) = %v, want %v", m, !want, want)
		}
	}
}
