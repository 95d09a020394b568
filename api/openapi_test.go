package api

import (
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

// The description is valid OpenAPI 3.1 and names exactly the endpoints the
// server registers, method by method.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, err := libopenapi.NewDocument(OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("openapi.yaml: %s: %s (line %d)", e.Message, e.Reason, e.SpecLine)
		}
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(model.Model.Version, "3.1") {
		t.Errorf("openapi %s, want 3.1", model.Model.Version)
	}
	var described []string
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			described = append(described, strings.ToUpper(method)+" "+path)
		}
	}
	s := New(Config{}, Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	routes := s.Routes()
	slices.Sort(described)
	slices.Sort(routes)
	for _, r := range routes {
		if !slices.Contains(described, r) {
			t.Errorf("endpoint %s is not in openapi.yaml", r)
		}
	}
	for _, d := range described {
		if !slices.Contains(routes, d) {
			t.Errorf("openapi.yaml describes %s, which the server does not serve", d)
		}
	}
	if len(routes) < 20 {
		t.Fatalf("only %d routes registered: %v", len(routes), routes)
	}
}
