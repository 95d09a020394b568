package app

import (
	"context"
	"path/filepath"

	"github.com/lookalike/lookalike/blob"
	"github.com/lookalike/lookalike/datadir"
	"github.com/lookalike/lookalike/thumb"
)

// openBlobs opens the image store: the data directory's images/ by
// default. This is the one place that chooses it.
func (a *App) openBlobs(ctx context.Context) error {
	d, err := blob.Open(filepath.Join(a.cfg.DataDir, datadir.ImagesDir))
	if err != nil {
		return err
	}
	a.blobs = d
	return nil
}

// newThumbs returns the thumbnail cache: in the data directory's thumbs/.
func (a *App) newThumbs() *thumb.Cache {
	return thumb.New(a.blobs, filepath.Join(a.cfg.DataDir, datadir.ThumbsDir), a.decodeBudget)
}

// spaceChecker is implemented by image stores on a local disk, which note
// a write that failed for lack of space (blob.Dir).
type spaceChecker interface {
	Full() error
	Probe() error
}
