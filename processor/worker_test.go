package processor

import (
	"testing"
	"time"
)

func TestLogLimiter(t *testing.T) {
	l := logLimiter{every: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	if n, ok := l.allow("a", t0); !ok || n != 0 {
		t.Fatalf("first line held back")
	}
	for i := 1; i <= 5; i++ {
		if _, ok := l.allow("a", t0.Add(time.Duration(i)*time.Second)); ok {
			t.Fatalf("line %d within the interval let through", i)
		}
	}
	if _, ok := l.allow("b", t0.Add(time.Second)); !ok {
		t.Fatal("another key was held back")
	}
	if n, ok := l.allow("a", t0.Add(11*time.Second)); !ok || n != 5 {
		t.Fatalf("after the interval: n=%d ok=%v, want 5 held back", n, ok)
	}
}
