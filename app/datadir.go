package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lookalike/lookalike/blob"
	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/datadir"
	"github.com/lookalike/lookalike/sqlite"
)

// dataDirIDKey is the settings key of the data directory's id; the image
// store's marker file (blob.IDFile) holds the same id.
const dataDirIDKey = "data_dir_id"

// ErrForeignImages is returned by New when the image store holds photos
// the database does not know (a new, emptied or replaced database, or the
// images of another data directory): starting would let housekeeping
// delete them.
var ErrForeignImages = errors.New("stored photos do not belong to this database")

// checkIdentity makes sure the database and the image store belong
// together before anything may prune the store. A fresh directory gets a
// new id in both; an existing one from before ids is adopted when the
// database knows images. Otherwise, with photos on disk, it refuses, unless
// ResetImages asks to move the photos aside and start over.
func (a *App) checkIdentity(ctx context.Context) error {
	dbID, err := a.store.Setting(ctx, dataDirIDKey)
	if err != nil {
		return err
	}
	marker, err := a.blobs.ID(ctx)
	if err != nil {
		return err
	}
	if dbID != "" && dbID == marker {
		return nil
	}
	files, err := blob.Count(ctx, a.blobs)
	if err != nil {
		return err
	}
	var problem string
	switch {
	case files == 0:
	case dbID != "" && marker != "":
		problem = fmt.Sprintf("the photos belong to data directory %s but lookalike.db to %s (the database or the images were replaced)", marker, dbID)
	case marker != "":
		problem = fmt.Sprintf("the photos belong to data directory %s but lookalike.db has no id: the database is new, was emptied or replaced", marker)
	default:
		knows, err := a.store.KnowsImages(ctx)
		if err != nil {
			return err
		}
		if !knows {
			problem = "lookalike.db knows no images: the database is new, was emptied or replaced"
		}
	}
	if problem != "" && !a.cfg.ResetImages {
		return fmt.Errorf("%w: %s holds %d stored photos; %s. Starting would let housekeeping delete the photos, so lookalike will not start. "+
			"To proceed: put the right lookalike.db back or restore the data directory from a backup ('lookalike restore BACKUP --data-dir %s --force'); "+
			"or, to start over with this database, start once with --reset-images (LOOKALIKE_RESET_IMAGES=true), which moves the photos aside "+
			"(nothing is deleted) and fetches them again as products arrive",
			ErrForeignImages, a.blobs, files, problem, a.cfg.DataDir)
	}
	if problem != "" {
		if err := a.moveImagesAside(); err != nil {
			return err
		}
	}
	if dbID == "" {
		var b [16]byte
		rand.Read(b[:])
		// Replicas starting together on a new database and bucket agree
		// on the first id stored, so each writes the same marker.
		if dbID, err = a.store.InitSetting(ctx, dataDirIDKey, hex.EncodeToString(b[:])); err != nil {
			return err
		}
	}
	a.log.Info("data directory id", "subsystem", "app", "id", dbID, "adopted", marker == "" && files > 0)
	return a.blobs.SetID(ctx, dbID)
}

// moveImagesAside renames images/ and thumbs/ to *.orphaned-<time> (for
// --reset-images) and opens a fresh, empty image store.
func (a *App) moveImagesAside() error {
	if _, local := a.blobs.(*blob.Dir); !local {
		return fmt.Errorf("reset images: the photos in %s cannot be moved aside by lookalike; point LOOKALIKE_BLOB_URL at a new bucket or prefix to start over", a.blobs)
	}
	suffix := ".orphaned-" + time.Now().UTC().Format("20060102-150405")
	for _, name := range []string{datadir.ImagesDir, datadir.ThumbsDir} {
		from := filepath.Join(a.cfg.DataDir, name)
		if _, err := os.Stat(from); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := os.Rename(from, from+suffix); err != nil {
			return fmt.Errorf("reset images: %w", err)
		}
		a.log.Warn("reset images: moved the photos the database did not know aside; delete them once sure", "subsystem", "app", "from", from, "to", from+suffix)
	}
	blobs, err := blob.Open(filepath.Join(a.cfg.DataDir, datadir.ImagesDir))
	if err != nil {
		return err
	}
	a.blobs = blobs
	return nil
}

// Health says why the service cannot take writes: a damaged database, or
// a full disk under the database or the images (the latter re-checked with
// a small probe write, so it clears as soon as space is freed); nil when
// healthy.
func (a *App) Health(ctx context.Context) error {
	err := a.store.Fault()
	if errors.Is(err, catalog.ErrStorageFull) {
		err = a.store.Probe(ctx)
	}
	if sc, ok := a.blobs.(spaceChecker); ok && err == nil && sc.Full() != nil {
		err = sc.Probe()
	}
	return err
}

// onStoreFault logs, once per change, that the database became damaged or
// full, or recovered from a full disk.
func (a *App) onStoreFault(err error) {
	log := a.log.With("subsystem", "store")
	switch {
	case err == nil:
		log.Warn("database writes succeed again; the service takes writes")
	case errors.Is(err, catalog.ErrStorageCorrupt):
		log.Error("DATABASE DAMAGED: the service refuses writes (webhooks, admin) with 503 and /readyz answers 503 until it is restored; "+sqlite.Recovery, "err", err)
	default:
		log.Error("DISK FULL: database writes fail with 503 and /readyz answers 503 until space is freed", "data_dir", a.cfg.DataDir, "err", err)
	}
}
