package access_test

import (
	"context"
	"testing"
	"time"

	"github.com/axtract/axtract/worker"
)

// TestWorkersRunGuardPeriodically starts the River workers as axtract serve
// does and waits for the periodic session guard to record a partner login.
func TestWorkersRunGuardPeriodically(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	cred := createLogin(t, db, "analyst", nil)
	conn := connectAs(t, db, cred)
	pid := backendPID(t, conn)

	client, err := worker.NewClient(worker.Config{Pool: db.Pool, Workers: 1, GuardInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := client.Stop(stopCtx); err != nil {
			t.Errorf("stop workers: %v", err)
		}
	})

	waitFor(t, 20*time.Second, "the guard to record the partner's login", func() bool {
		var seen bool
		err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM axtract.audit_event
			WHERE action = 'partner.session.login' AND (detail->>'pid')::int = $1)`, pid).Scan(&seen)
		if err != nil {
			t.Fatal(err)
		}
		return seen
	})
}
