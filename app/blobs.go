package app

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/lookalike/lookalike/blob"
	"github.com/lookalike/lookalike/blob/s3blob"
	"github.com/lookalike/lookalike/datadir"
	"github.com/lookalike/lookalike/thumb"
)

// openBlobs opens the image store, the one place that chooses it: the
// bucket of BlobURL, else the data directory's images/.
func (a *App) openBlobs(ctx context.Context) error {
	if a.cfg.BlobURL != "" {
		b, err := s3blob.Open(ctx, a.cfg.BlobURL)
		if err != nil {
			return fmt.Errorf("LOOKALIKE_BLOB_URL: %w", err)
		}
		a.bucket = b
		a.blobs = b.Images()
		a.log.Info("image store", "subsystem", "blob", "url", b.String())
		return nil
	}
	d, err := blob.Open(filepath.Join(a.cfg.DataDir, datadir.ImagesDir))
	if err != nil {
		return err
	}
	a.blobs = d
	return nil
}

// newThumbs returns the thumbnail cache: in the data directory's thumbs/
// and, with a bucket, under its thumbs/ too, so each thumbnail is made
// once for all replicas.
func (a *App) newThumbs() *thumb.Cache {
	c := thumb.New(a.blobs, filepath.Join(a.cfg.DataDir, datadir.ThumbsDir), a.decodeBudget)
	if a.bucket != nil {
		c.Share(func(w int) blob.Store { return a.bucket.Cache(datadir.ThumbsDir+"/"+strconv.Itoa(w), ".jpg") })
	}
	return c
}

// spaceChecker is implemented by image stores on a local disk, which note
// a write that failed for lack of space (blob.Dir).
type spaceChecker interface {
	Full() error
	Probe() error
}
