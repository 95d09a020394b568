// Package s3blob is the blob.Store of an S3-compatible object store (AWS
// S3, MinIO, Ceph, versitygw, …), named by a URL
//
//	s3://bucket/prefix?endpoint=https://host:port&region=…
//
// with the credentials in the usual AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY. Images are the objects prefix/images/<sha[:2]>/<sha>,
// the data directory marker prefix/images/.lookalike-id, caches (the
// thumbnails) prefix/<name>/<sha[:2]>/<sha><ext>: the local layout.
package s3blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lookalike/lookalike/blob"
)

// The kinds of failure Open and the stores report, for errors.Is.
var (
	ErrCredentials = errors.New("the access key or secret was refused (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	ErrNoBucket    = errors.New("the bucket does not exist")
	ErrUnreachable = errors.New("the endpoint cannot be reached")
)

// Bucket is an opened s3:// URL: a bucket and a prefix in it.
type Bucket struct {
	client *minio.Client
	bucket string
	prefix string // "" or ending in "/"
	name   string // the URL for people: no credentials
}

// Location is what an s3:// URL says.
type Location struct {
	Bucket   string
	Prefix   string // "" or ending in "/"
	Endpoint string // host:port
	Secure   bool   // https
	Region   string
	Custom   bool // an endpoint was given (not AWS): path-style requests
}

// Parse reads an s3:// URL.
func Parse(raw string) (Location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, fmt.Errorf("blob URL: %w", err)
	}
	bad := func(msg string) (Location, error) {
		return Location{}, fmt.Errorf("blob URL %s: %s; the form is s3://bucket/prefix?endpoint=https://host:port&region=name", redact(u), msg)
	}
	if u.Scheme != "s3" {
		return bad("the scheme must be s3")
	}
	if u.User != nil {
		return bad("credentials do not belong in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	if u.Host == "" {
		return bad("no bucket")
	}
	loc := Location{Bucket: u.Host, Endpoint: "s3.amazonaws.com", Secure: true}
	if p := strings.Trim(u.Path, "/"); p != "" {
		loc.Prefix = p + "/"
	}
	q := u.Query()
	for k := range q {
		if k != "endpoint" && k != "region" {
			return bad(fmt.Sprintf("unknown parameter %q", k))
		}
	}
	loc.Region = q.Get("region")
	if ep := q.Get("endpoint"); ep != "" {
		e, err := url.Parse(ep)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || (e.Path != "" && e.Path != "/") {
			return bad(fmt.Sprintf("endpoint %q must be http(s)://host[:port]", ep))
		}
		loc.Endpoint, loc.Secure, loc.Custom = e.Host, e.Scheme == "https", true
	}
	return loc, nil
}

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// Open opens the bucket that the s3:// URL names, with the credentials of
// the environment, and checks that it can list it: a wrong secret, a
// missing bucket or an unreachable endpoint fail here, naming the URL.
func Open(ctx context.Context, raw string) (*Bucket, error) {
	loc, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(raw)
	b := &Bucket{bucket: loc.Bucket, prefix: loc.Prefix, name: redact(u)}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" || os.Getenv("AWS_SECRET_ACCESS_KEY") == "" {
		return nil, fmt.Errorf("image store %s: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to the store's access key and secret", b.name)
	}
	lookup := minio.BucketLookupAuto
	if loc.Custom {
		lookup = minio.BucketLookupPath
	}
	b.client, err = minio.New(loc.Endpoint, &minio.Options{
		Creds:        credentials.NewEnvAWS(),
		Secure:       loc.Secure,
		Region:       loc.Region,
		BucketLookup: lookup,
		MaxRetries:   3,
		Transport:    transport(),
	})
	if err != nil {
		return nil, fmt.Errorf("image store %s: %w", b.name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for obj := range b.client.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: b.prefix, MaxKeys: 1}) {
		if obj.Err != nil {
			return nil, b.wrap("list", obj.Err)
		}
		break
	}
	return b, nil
}

func transport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = time.Minute
	t.MaxIdleConnsPerHost = 64
	return t
}

// String is the URL without credentials.
func (b *Bucket) String() string { return b.name }

// Images returns the image store: prefix/images/.
func (b *Bucket) Images() *Store {
	return &Store{b: b, dir: b.prefix + "images/", verify: true}
}

// Cache returns a store of things derived from images (thumbnails), named
// by the image's hash with the extension ext: prefix/name/.
func (b *Bucket) Cache(name, ext string) *Store {
	return &Store{b: b, dir: b.prefix + strings.Trim(name, "/") + "/", ext: ext}
}

// wrap says what went wrong in words, naming the store, and wraps
// fs.ErrNotExist, ErrCredentials, ErrNoBucket or ErrUnreachable as fits.
func (b *Bucket) wrap(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("image store %s: %s: %w", b.name, op, err)
	}
	resp := minio.ToErrorResponse(err)
	var kind error
	switch resp.Code {
	case "NoSuchKey", "NotFound":
		kind = fs.ErrNotExist
	case "NoSuchBucket":
		kind = ErrNoBucket
	case "SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidSecurity":
		kind = ErrCredentials
	}
	if kind == nil {
		var ne net.Error
		var oe *net.OpError
		if errors.As(err, &oe) || (errors.As(err, &ne) && ne.Timeout()) {
			kind = ErrUnreachable
		}
	}
	if kind == nil {
		return fmt.Errorf("image store %s: %s: %w", b.name, op, err)
	}
	return fmt.Errorf("image store %s: %s: %w: %v", b.name, op, kind, err)
}

// Store is a blob.Store under one prefix of a bucket.
type Store struct {
	b      *Bucket
	dir    string // key prefix, ending in "/"
	ext    string
	verify bool
}

var _ blob.Images = (*Store)(nil)

func (s *Store) key(sha string) string { return s.dir + sha[:2] + "/" + sha + s.ext }

// String names the store's place: its s3:// URL.
func (s *Store) String() string {
	return "s3://" + s.b.bucket + "/" + s.dir
}

// Put uploads b (a single PUT: the object appears whole or not at all).
// It always writes, so it also replaces a damaged copy.
func (s *Store) Put(ctx context.Context, sha string, b []byte) error {
	if err := blob.CheckPut(sha, b, s.verify); err != nil {
		return err
	}
	return s.put(ctx, s.key(sha), b)
}

func (s *Store) put(ctx context.Context, key string, b []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ct := "application/octet-stream"
	if s.ext == ".jpg" {
		ct = "image/jpeg"
	} else if s.verify {
		ct = http.DetectContentType(b)
	}
	_, err := s.b.client.PutObject(ctx, s.b.bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{ContentType: ct})
	if err != nil {
		return s.b.wrap("put "+key, err)
	}
	return nil
}

// Get downloads the blob.
func (s *Store) Get(ctx context.Context, sha string) ([]byte, error) {
	if !blob.ValidSHA(sha) {
		return nil, fmt.Errorf("image %q: %w", sha, fs.ErrNotExist)
	}
	return s.get(ctx, s.key(sha))
}

func (s *Store) get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	obj, err := s.b.client.GetObject(ctx, s.b.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.b.wrap("get "+key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		return nil, s.b.wrap("get "+key, err)
	}
	return b, nil
}

// Delete removes the blob (S3 answers success for a missing one).
func (s *Store) Delete(ctx context.Context, sha string) error {
	if !blob.ValidSHA(sha) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.b.client.RemoveObject(ctx, s.b.bucket, s.key(sha), minio.RemoveObjectOptions{}); err != nil {
		if errors.Is(s.b.wrap("", err), fs.ErrNotExist) {
			return nil
		}
		return s.b.wrap("delete "+s.key(sha), err)
	}
	return nil
}

// Walk lists the store's objects.
func (s *Store) Walk(ctx context.Context, fn func(sha string, mod time.Time) error) error {
	ctx, cancel := context.WithCancel(ctx) // stops the listing when fn fails
	defer cancel()
	for obj := range s.b.client.ListObjects(ctx, s.b.bucket, minio.ListObjectsOptions{Prefix: s.dir, Recursive: true}) {
		if err := ctx.Err(); err != nil {
			return s.b.wrap("list", err)
		}
		if obj.Err != nil {
			return s.b.wrap("list", obj.Err)
		}
		name, ok := strings.CutSuffix(path.Base(obj.Key), s.ext)
		if !ok || !blob.ValidSHA(name) || obj.Key != s.key(name) {
			continue // the marker, other things under the prefix
		}
		if err := fn(name, obj.LastModified); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return s.b.wrap("list", err)
	}
	return nil
}

// ID reads the marker object ("" when there is none).
func (s *Store) ID(ctx context.Context) (string, error) {
	b, err := s.get(ctx, s.dir+blob.IDFile)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// SetID writes the marker object.
func (s *Store) SetID(ctx context.Context, id string) error {
	return s.put(ctx, s.dir+blob.IDFile, []byte(id+"\n"))
}
