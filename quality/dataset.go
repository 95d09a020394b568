package quality

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Photo is one image file of a quality data set.
type Photo struct {
	// Path is the file's path relative to the data set folder, with forward
	// slashes (e.g. "bench/roses/123.jpg"). Near-duplicate lists refer to it.
	Path string
	// File is the path to open.
	File string
	// Label is the name of the class folder the photo is in.
	Label string
	// Split is the name of the split folder ("bench", "dev"), or "" in the
	// flat layout.
	Split string
}

func isImageFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".png", ".gif":
		return !strings.HasPrefix(name, ".")
	}
	return false
}

// Discover lists the photos of a data set folder, sorted by Path. Two layouts
// are understood, and may be mixed: DIR/<split>/<label>/<photo> and the flat
// DIR/<label>/<photo>, where a photo has no split. A top-level folder that
// holds image files directly is a label folder; one that holds folders of
// images is a split.
func Discover(dir string) ([]Photo, error) {
	top, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var photos []Photo
	add := func(rel, label, split string) {
		photos = append(photos, Photo{
			Path:  rel,
			File:  filepath.Join(dir, filepath.FromSlash(rel)),
			Label: label,
			Split: split,
		})
	}
	for _, t := range top {
		if !t.IsDir() || strings.HasPrefix(t.Name(), ".") {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(dir, t.Name()))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			switch {
			case !e.IsDir() && isImageFile(e.Name()):
				add(path.Join(t.Name(), e.Name()), t.Name(), "")
			case e.IsDir() && !strings.HasPrefix(e.Name(), "."):
				files, err := os.ReadDir(filepath.Join(dir, t.Name(), e.Name()))
				if err != nil {
					return nil, err
				}
				for _, f := range files {
					if !f.IsDir() && isImageFile(f.Name()) {
						add(path.Join(t.Name(), e.Name(), f.Name()), e.Name(), t.Name())
					}
				}
			}
		}
	}
	if len(photos) == 0 {
		return nil, fmt.Errorf("quality: no photos found in %s (want DIR/<split>/<label>/*.jpg or DIR/<label>/*.jpg)", dir)
	}
	sort.Slice(photos, func(i, j int) bool { return photos[i].Path < photos[j].Path })
	return photos, nil
}

// ReadNearDuplicates reads a tab-separated list of pairs of photos that show
// the same scene. The first line is a header naming the columns; the pair is
// taken from the columns named path_a and path_b, or from the first two
// columns when the header has no such names. Lines starting with '#' and
// blank lines are skipped. A missing file is not an error: it yields no pairs.
func ReadNearDuplicates(file string) ([][2]string, error) {
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var pairs [][2]string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	ca, cb, header := 0, 1, true
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if header {
			header = false
			for i, c := range cols {
				switch strings.TrimSpace(c) {
				case "path_a":
					ca = i
				case "path_b":
					cb = i
				}
			}
			continue
		}
		if ca >= len(cols) || cb >= len(cols) {
			continue
		}
		pairs = append(pairs, [2]string{strings.TrimSpace(cols[ca]), strings.TrimSpace(cols[cb])})
	}
	return pairs, sc.Err()
}

// sceneGroups assigns every photo a group id such that photos linked by a
// chain of near-duplicate pairs share it (pairs naming unknown paths are
// ignored).
func sceneGroups(photos []Photo, pairs [][2]string) []int {
	parent := make([]int, len(photos))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	index := make(map[string]int, len(photos))
	for i, p := range photos {
		index[p.Path] = i
	}
	for _, pr := range pairs {
		a, okA := index[pr[0]]
		b, okB := index[pr[1]]
		if okA && okB {
			ra, rb := find(a), find(b)
			if ra != rb {
				parent[ra] = rb
			}
		}
	}
	groups := make([]int, len(photos))
	for i := range groups {
		groups[i] = find(i)
	}
	return groups
}
