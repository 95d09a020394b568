package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lookalike/lookalike/store"
)

// leader is one held leader lock: a session advisory lock on a connection
// of its own, which ends it when it closes (or the process dies).
type leader struct {
	d      *Driver
	name   string
	mu     sync.Mutex // the connection is used by the check and by release
	conn   *pgx.Conn
	cancel context.CancelCauseFunc // ends the leadership's context
	once   sync.Once
	done   chan struct{} // closed when the check has stopped
}

// ErrLeadershipLost is the cause of a leadership context that ended because
// the lock's connection was lost: another process may be leader now.
var ErrLeadershipLost = store.ErrLeadershipLost

// TryLeader takes the named fleet-wide lock if no process (this one
// included) holds it. See Leader.
func (d *Driver) TryLeader(ctx context.Context, name string) (lctx context.Context, release func(), ok bool, err error) {
	return d.Leader(ctx, name)
}

// Leader takes the named fleet-wide lock if no process holds it, on a
// connection of its own checked every Options.LeaderCheck. The returned
// context ends, with cause ErrLeadershipLost (logged), when that
// connection fails, and with context.Canceled on release: work done as
// leader should run under it. ok is false when another holder has the lock.
func (d *Driver) Leader(ctx context.Context, name string) (lctx context.Context, release func(), ok bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, d.cfg.Copy())
	if err != nil {
		return nil, nil, false, d.Classify(fmt.Errorf("leader lock %q: %w", name, err))
	}
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", hashKey("leader", name)).Scan(&ok); err != nil || !ok {
		conn.Close(context.Background())
		if err != nil {
			return nil, nil, false, d.Classify(fmt.Errorf("leader lock %q: %w", name, err))
		}
		return nil, nil, false, nil
	}
	l := &leader{d: d, name: name, conn: conn, done: make(chan struct{})}
	lctx, l.cancel = context.WithCancelCause(context.Background())
	d.closeMu.Lock()
	if d.closed {
		d.closeMu.Unlock()
		conn.Close(context.Background())
		l.cancel(context.Canceled)
		return nil, nil, false, errors.New("leader lock: driver is closed")
	}
	d.leaders[l] = struct{}{}
	d.closeMu.Unlock()
	go l.check(lctx)
	return lctx, l.release, true, nil
}

// check pings the lock's connection until it fails or the lock is released.
func (l *leader) check(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(l.d.opts.LeaderCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.mu.Lock()
		pctx, cancel := context.WithTimeout(ctx, max(l.d.opts.LeaderCheck, 5*time.Second))
		err := l.conn.Ping(pctx)
		cancel()
		l.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			l.d.log.Error("leader lock lost", "name", l.name, "err", err)
			l.cancel(fmt.Errorf("%w (%q: %v)", ErrLeadershipLost, l.name, err))
			l.forget()
			return
		}
	}
}

// forget closes the lock's connection, which ends the lock on the server.
func (l *leader) forget() {
	l.once.Do(func() {
		l.d.closeMu.Lock()
		delete(l.d.leaders, l)
		l.d.closeMu.Unlock()
		l.mu.Lock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		l.conn.Exec(ctx, "SELECT pg_advisory_unlock_all()")
		cancel()
		l.conn.Close(context.Background())
		l.mu.Unlock()
	})
}

// release gives the lock back; calling it again does nothing.
func (l *leader) release() {
	l.cancel(context.Canceled)
	<-l.done
	l.forget()
}
