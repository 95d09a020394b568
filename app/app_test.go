package app

import (
	"strings"
	"testing"
	"time"
)

func TestConfigDefaultsAndValidate(t *testing.T) {
	var c Config
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./lookalike-data" || c.DefaultShopID != 1 || c.MaxImageBytes != 20<<20 || c.JobLease != 2*time.Minute {
		t.Fatalf("defaults: %+v", c)
	}
	bad := []struct {
		change func(*Config)
		msg    string
	}{
		{func(c *Config) { c.Addr = "8080" }, "LOOKALIKE_ADDR"},
		{func(c *Config) { c.PprofAddr = "6061" }, "LOOKALIKE_PPROF_ADDR"},
		{func(c *Config) { c.PprofAddr = c.Addr }, "LOOKALIKE_PPROF_ADDR"},
		{func(c *Config) { c.AdminAddr = "8081" }, "LOOKALIKE_ADMIN_ADDR"},
		{func(c *Config) { c.AdminAddr = c.Addr }, "LOOKALIKE_ADMIN_ADDR"},
		{func(c *Config) { c.DefaultShopID = -1 }, "LOOKALIKE_DEFAULT_SHOP_ID"},
		{func(c *Config) { c.ImageBaseURL = "cvety.kz" }, "LOOKALIKE_IMAGE_BASE_URL"},
		{func(c *Config) { c.ImageBaseURL = "ftp://cvety.kz" }, "LOOKALIKE_IMAGE_BASE_URL"},
		{func(c *Config) { c.WebhookSecrets = []string{"short"} }, "WEBHOOK_SECRET"},
		{func(c *Config) { c.SigningSecrets = []string{"not-whsec"} }, "LOOKALIKE_WEBHOOK_SIGNING_SECRET"},
		{func(c *Config) { c.Workers = 0 }, "LOOKALIKE_WORKERS"},
		{func(c *Config) { c.MaxAttempts = -1 }, "LOOKALIKE_MAX_ATTEMPTS"},
		{func(c *Config) { c.JobLease = time.Millisecond }, "LOOKALIKE_JOB_LEASE"},
		{func(c *Config) { c.SearchRate = -1 }, "LOOKALIKE_SEARCH_RATE"},
		{func(c *Config) { c.DatabaseURL = "mysql://u:p@db/x" }, "LOOKALIKE_DATABASE_URL"},
		{func(c *Config) { c.DatabaseURL = "postgres:///x" }, "LOOKALIKE_DATABASE_URL"},
		{func(c *Config) { c.DatabaseURL = "db.example:5432" }, "LOOKALIKE_DATABASE_URL"},
		{func(c *Config) { c.BlobURL = "https://photos.example/x" }, "LOOKALIKE_BLOB_URL"},
		{func(c *Config) { c.BlobURL = "s3://k:secret@photos/x" }, "LOOKALIKE_BLOB_URL"},
		{func(c *Config) { c.AllowedOrigins = []string{"*"} }, "LOOKALIKE_ALLOWED_ORIGINS"},
		{func(c *Config) { c.AllowedOrigins = []string{"https://cvety.kz/"} }, "LOOKALIKE_ALLOWED_ORIGINS"},
		{func(c *Config) { c.AllowedOrigins = []string{"cvety.kz"} }, "LOOKALIKE_ALLOWED_ORIGINS"},
		{func(c *Config) { c.AllowedOrigins = []string{"https://Cvety.kz"} }, "LOOKALIKE_ALLOWED_ORIGINS"},
		{func(c *Config) { c.AllowedOrigins = []string{"https://cvety.kz/catalog"} }, "LOOKALIKE_ALLOWED_ORIGINS"},
		{func(c *Config) { c.ShopColor = "green" }, "LOOKALIKE_SHOP_COLOR"},
		{func(c *Config) { c.ShopLogo = "logo.png" }, "LOOKALIKE_SHOP_LOGO"},
		{func(c *Config) { c.ShopLogo = "javascript:alert(1)" }, "LOOKALIKE_SHOP_LOGO"},
		{func(c *Config) { c.ShopName = "two\nlines" }, "LOOKALIKE_SHOP_NAME"},
		{func(c *Config) { c.VectorURL = "weaviate:8080" }, "LOOKALIKE_VECTOR_URL"},
		{func(c *Config) { c.VectorURL = "http://weaviate:8080/v1" }, "LOOKALIKE_VECTOR_URL"},
		{func(c *Config) { c.VectorURL, c.Index = "http://weaviate:8080", IndexHNSW }, "LOOKALIKE_INDEX"},
		{func(c *Config) { c.VectorURL, c.VectorClassPrefix = "http://weaviate:8080", "9lives" }, "LOOKALIKE_VECTOR_CLASS_PREFIX"},
	}
	for _, b := range bad {
		c := Config{}
		c.Defaults()
		b.change(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), b.msg) {
			t.Errorf("want an error naming %s, got %v", b.msg, err)
		}
	}
	for _, ok := range []string{"postgres://u:secret@db.example:5432/lookalike?sslmode=require", "postgresql://127.0.0.1/x", "postgres:///x?host=/run/postgresql"} {
		c := Config{DatabaseURL: ok}
		c.Defaults()
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	c = Config{DatabaseURL: "mysql://u:hunter2@db/x"}
	c.Defaults()
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("an error repeating the password: %v", err)
	}
	good := Config{AllowedOrigins: []string{"https://cvety.kz", "http://127.0.0.1:8000"}, ShopName: "Цветы Алматы", ShopLogo: "/upload/logo.png", ShopColor: "#a8234f", ImageBaseURL: "https://cvety.kz"}
	good.Defaults()
	if err := good.Validate(); err != nil {
		t.Errorf("origins and a brand: %v", err)
	}
	if b := good.brand(); b.Logo != "https://cvety.kz/upload/logo.png" {
		t.Errorf("a logo path resolves against the shop's site: %+v", b)
	}
	if got := SplitSecrets(" a , ,b,"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("SplitSecrets: %q", got)
	}
}

func TestChooseIndex(t *testing.T) {
	for _, c := range []struct {
		setting string
		photos  int64
		want    string
	}{
		{IndexAuto, 0, IndexFlat},
		{IndexAuto, AutoHNSWVectors - 1, IndexFlat},
		{IndexAuto, AutoHNSWVectors, IndexHNSW},
		{IndexFlat, 10 * AutoHNSWVectors, IndexFlat},
		{IndexHNSW, 3, IndexHNSW},
	} {
		if got := chooseIndex(c.setting, c.photos); got != c.want {
			t.Errorf("chooseIndex(%s, %d) = %s, want %s", c.setting, c.photos, got, c.want)
		}
	}
	c := Config{Index: "annoy"}
	c.Defaults()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "LOOKALIKE_INDEX") {
		t.Errorf("LOOKALIKE_INDEX=annoy: %v", err)
	}
}
