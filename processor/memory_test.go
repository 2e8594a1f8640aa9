package processor

import "testing"

func TestPlanMemory(t *testing.T) {
	if _, err := PlanMemory(MinMemoryBudget - 1); err == nil {
		t.Fatal("a budget below the minimum was accepted")
	}
	for _, budget := range []int64{MinMemoryBudget, 512 << 20, 1 << 30, 4 << 30, 64 << 30} {
		m, err := PlanMemory(budget)
		if err != nil {
			t.Fatal(err)
		}
		// What the plan hands out in proportion to load must fit under the
		// Go limit with room for a round's records (about 100 MiB), and the
		// limit must leave room for what it does not see.
		parts := m.Store + m.StateCache + int64(m.FetchMaxBytes)*3 + m.ProduceBufferedBytes
		if parts+100<<20 > m.GoLimit && budget >= 1<<30 {
			t.Errorf("budget %d MiB: parts %d MiB + 100 MiB exceed the Go limit %d MiB", budget>>20, parts>>20, m.GoLimit>>20)
		}
		if parts >= m.GoLimit || m.GoLimit >= budget || m.GoLimit < budget*3/5 {
			t.Errorf("budget %d MiB: Go limit %d MiB, parts %d MiB", budget>>20, m.GoLimit>>20, parts>>20)
		}
		// The mapped tables' pages are outside the Go limit: both together
		// must leave room for what the mapped pages grow by between two
		// looks of the reclaimer: a tenth of the budget, or 1 GiB.
		if margin := budget - m.GoLimit - m.Mapped; m.Mapped <= 0 || margin < min(budget/10, 1<<30) {
			t.Errorf("budget %d MiB: Go limit %d MiB + mapped %d MiB leave %d MiB", budget>>20, m.GoLimit>>20, m.Mapped>>20, margin>>20)
		}
		if m.FetchMaxPartitionBytes <= 0 || m.FetchMaxPartitionBytes > m.FetchMaxBytes {
			t.Errorf("budget %d MiB: fetch %d, per partition %d", budget>>20, m.FetchMaxBytes, m.FetchMaxPartitionBytes)
		}
		if len(m.ClientOpts()) == 0 {
			t.Error("no client options")
		}
	}
}
