package s3blob_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lookalike/lookalike/blob"
	"github.com/lookalike/lookalike/blob/blobtest"
	"github.com/lookalike/lookalike/blob/s3blob"
	"github.com/lookalike/lookalike/blob/s3blob/s3test"
)

// TestConformance runs the blob.Store suite against a real versitygw: a
// new bucket (or a new prefix in one) for each test.
func TestConformance(t *testing.T) {
	srv := s3test.Start(t)
	srv.Env(t)
	bucket := srv.Bucket(t)
	n := 0
	blobtest.Run(t, func(t *testing.T) blob.Store {
		n++
		b, err := s3blob.Open(context.Background(), srv.URL(bucket, fmt.Sprintf("shop/%d", n)))
		if err != nil {
			t.Fatal(err)
		}
		return b.Images()
	}, blobtest.Damage(func(t *testing.T, s blob.Store, sha string) {
		key := strings.TrimPrefix(s.String(), "s3://"+bucket+"/") + sha[:2] + "/" + sha
		if err := os.WriteFile(srv.ObjectPath(bucket, key), []byte("junk!"), 0o644); err != nil {
			t.Fatal(err)
		}
	}))
}

// Two prefixes of one bucket, and images and a cache under one prefix,
// do not see each other's objects.
func TestPrefixesAreSeparate(t *testing.T) {
	srv := s3test.Start(t)
	srv.Env(t)
	bucket := srv.Bucket(t)
	ctx := context.Background()
	a, err := s3blob.Open(ctx, srv.URL(bucket, "a"))
	if err != nil {
		t.Fatal(err)
	}
	ab, err := s3blob.Open(ctx, srv.URL(bucket, "ab"))
	if err != nil {
		t.Fatal(err)
	}
	b := []byte("photo")
	sha := blob.Sum(b)
	if err := a.Images().Put(ctx, sha, b); err != nil {
		t.Fatal(err)
	}
	thumbs := a.Cache("thumbs/320", ".jpg")
	if err := thumbs.Put(ctx, sha, []byte("a thumbnail")); err != nil {
		t.Fatal(err)
	}
	for _, s := range []blob.Store{ab.Images(), ab.Cache("thumbs/320", ".jpg")} {
		if n, err := blob.Count(ctx, s); err != nil || n != 0 {
			t.Errorf("%s sees %d blobs of another prefix (%v)", s, n, err)
		}
	}
	if n, _ := blob.Count(ctx, a.Images()); n != 1 {
		t.Errorf("images: %d blobs, want 1 (the thumbnail is not an image)", n)
	}
	if got, err := thumbs.Get(ctx, sha); err != nil || string(got) != "a thumbnail" {
		t.Errorf("thumbnail: %q, %v", got, err)
	}
	if _, err := os.Stat(srv.ObjectPath(bucket, "a/images/"+sha[:2]+"/"+sha)); err != nil {
		t.Errorf("not stored at prefix/images/<sha[:2]>/<sha>: %v", err)
	}
}

// A wrong secret, a missing bucket and an unreachable endpoint fail at
// Open with an error that names the URL, says which it is, and does not
// show the secret.
func TestClearErrors(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	ctx := context.Background()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	wrong := "wrong-secret-" + srv.SecretKey
	for _, tc := range []struct {
		name, url, secret string
		want              error
	}{
		{"wrong secret", srv.URL(bucket, "p"), wrong, s3blob.ErrCredentials},
		{"missing bucket", srv.URL("nosuchbucket", "p"), srv.SecretKey, s3blob.ErrNoBucket},
		{"unreachable", fmt.Sprintf("s3://%s/p?endpoint=http://%s&region=us-east-1", bucket, closed), srv.SecretKey, s3blob.ErrUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
			t.Setenv("AWS_SECRET_ACCESS_KEY", tc.secret)
			t0 := time.Now()
			_, err := s3blob.Open(ctx, tc.url)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v; want %v", err, tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.url) {
				t.Errorf("the error does not name the URL %s: %s", tc.url, msg)
			}
			if strings.Contains(msg, tc.secret) {
				t.Errorf("the error shows the secret: %s", msg)
			}
			if d := time.Since(t0); d > 20*time.Second {
				t.Errorf("took %s to fail", d)
			}
			t.Log(msg)
		})
	}
	t.Run("no credentials", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		if _, err := s3blob.Open(ctx, srv.URL(bucket, "p")); err == nil || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") {
			t.Fatalf("Open without credentials: %v", err)
		}
	})
	t.Run("absent object", func(t *testing.T) {
		srv.Env(t)
		b, err := s3blob.Open(ctx, srv.URL(bucket, "p"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Images().Get(ctx, blob.Sum([]byte("none"))); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Get of an absent object: %v", err)
		}
	})
}

func TestParse(t *testing.T) {
	loc, err := s3blob.Parse("s3://photos/shop/one/?endpoint=http://127.0.0.1:9000&region=kz-1")
	if err != nil {
		t.Fatal(err)
	}
	want := s3blob.Location{Bucket: "photos", Prefix: "shop/one/", Endpoint: "127.0.0.1:9000", Region: "kz-1", Custom: true}
	if loc != want {
		t.Fatalf("Parse = %+v, want %+v", loc, want)
	}
	if loc, _ := s3blob.Parse("s3://photos"); loc.Prefix != "" || loc.Endpoint != "s3.amazonaws.com" || !loc.Secure || loc.Custom {
		t.Fatalf("plain bucket: %+v", loc)
	}
	for _, bad := range []string{"http://photos/x", "s3:///x", "s3://k:secret@photos/x", "s3://photos/x?endpoint=ftp://h", "s3://photos/x?endpont=http://h", "s3://photos?endpoint=http://h/path"} {
		_, err := s3blob.Parse(bad)
		if err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		} else if strings.Contains(err.Error(), "k:secret") {
			t.Errorf("Parse(%q) shows the secret: %v", bad, err)
		}
	}
}
