package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"time"

	"github.com/lookalike/lookalike/api"
	"github.com/lookalike/lookalike/blob"
	"github.com/lookalike/lookalike/buildinfo"
	"github.com/lookalike/lookalike/catalog"
)

// The fleet: every replica on the database writes a heartbeat row
// (replicas: id, host, address, start, model, change feed position) and its
// per-minute request activity (activity) every catalog.HeartbeatEvery, in
// one transaction, so that /stats lists the live replicas and the
// dashboard sums the fleet's activity from any of them. On SQLite it is
// the same code path with a fleet of one. A replica that stops removes its
// row; one that was killed ages out after catalog.ReplicaGone.

// fleetRetention is how long activity rows, and the rows of replicas gone
// without a word, are kept (the dashboard shows an hour).
const fleetRetention = 2 * time.Hour

// feedBehindLimit caps how many unapplied changes are counted for /stats.
const feedBehindLimit = 100_000

// newReplica is this process's identity in the fleet: a new id at every
// start.
func newReplica() catalog.Replica {
	var b [8]byte
	rand.Read(b[:])
	host, _ := os.Hostname()
	return catalog.Replica{ID: hex.EncodeToString(b[:]), Host: host, PID: os.Getpid(), Version: buildinfo.Read().Version, StartedAt: time.Now().UTC()}
}

// heartbeat writes this replica's row and recent activity now.
func (a *App) heartbeat(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r := a.replica
	now := time.Now()
	r.SeenAt = now.UTC()
	r.Addr = a.Addr()
	eng := a.engine.Load()
	r.Model, r.IndexVectors = eng.embedder.Model(), int64(eng.index.Len())
	a.feed.mu.Lock()
	r.FeedSeq = a.feed.after
	a.feed.mu.Unlock()
	behind, _, err := a.store.FeedLag(ctx, r.FeedSeq, feedBehindLimit)
	if err != nil {
		return err
	}
	r.FeedBehind = behind
	return a.store.Heartbeat(ctx, r, a.api.RecentActivity(now))
}

// heartbeats writes the heartbeat every catalog.HeartbeatEvery until Stop,
// then a last one (the activity up to the end) and leaves the fleet.
func (a *App) heartbeats() {
	defer a.bg.Done()
	log := a.log.With("subsystem", "fleet")
	t := time.NewTicker(catalog.HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-a.stopBG:
			if err := a.heartbeat(context.Background()); err != nil {
				log.Warn("last heartbeat", "err", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := a.store.Leave(ctx, a.replica.ID); err != nil {
				log.Warn("leave the fleet", "err", err)
			}
			return
		case <-t.C:
			if err := a.heartbeat(context.Background()); err != nil {
				log.Warn("heartbeat", "err", err)
			}
		}
	}
}

// FeedStatus is this replica's position in the change feed.
type FeedStatus struct {
	Position int64 `json:"position"` // the feed's row up to which this replica's index has applied every change
	Behind   int64 `json:"behind"`   // changes committed after it, not yet applied (counted up to 100000)
	// LagSeconds is how long ago the oldest change not yet applied was
	// written (0 when none is waiting).
	LagSeconds float64 `json:"lag_seconds"`
}

// ReplicaStatus is /stats "replica": this replica's own facts.
type ReplicaStatus struct {
	ID        string      `json:"id"`
	Host      string      `json:"host"`
	PID       int         `json:"pid"`
	Addr      string      `json:"addr"`
	Version   string      `json:"version"`
	StartedAt time.Time   `json:"started_at"`
	Model     string      `json:"model"` // the model answering this replica's searches
	Index     IndexStatus `json:"index"`
	Feed      FeedStatus  `json:"feed"`
}

// replicaStatus describes this replica for /stats.
func (a *App) replicaStatus(ctx context.Context) any {
	a.feed.mu.Lock()
	pos := a.feed.after
	a.feed.mu.Unlock()
	st := ReplicaStatus{ID: a.replica.ID, Host: a.replica.Host, PID: a.replica.PID, Version: a.replica.Version, StartedAt: a.replica.StartedAt,
		Model: a.engine.Load().embedder.Model(), Index: a.indexStatus().(IndexStatus), Feed: FeedStatus{Position: pos}}
	if a.ln != nil {
		st.Addr = a.Addr()
	}
	behind, oldest, err := a.store.FeedLag(ctx, pos, feedBehindLimit)
	if err != nil {
		a.log.Warn("stats: change feed lag", "subsystem", "fleet", "err", err)
		st.Feed.Behind = -1
		return st
	}
	st.Feed.Behind = behind
	if behind > 0 {
		st.Feed.LagSeconds = max(time.Since(oldest).Seconds(), 0)
	}
	return st
}

// probes are /readyz's checks beyond the database and the index: the image
// store answers (a read of its marker: the bucket's object, or the local
// file).
func (a *App) probes() []api.Probe {
	m, ok := a.blobs.(blob.Marker)
	if !ok {
		return nil
	}
	return []api.Probe{{Name: "images", Check: func(ctx context.Context) error {
		_, err := m.ID(ctx)
		return err
	}}}
}
