package main

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/lookalike/lookalike/api"
)

// Real requests to the real server, and its real replies, conform to
// api/openapi.yaml: the description is checked by a validator library, not
// by hand, for the seed's flow, errors, admin reads and the description
// the server serves itself.
func TestOpenAPIRealReplies(t *testing.T) {
	doc, err := libopenapi.NewDocument(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), nil)

	// check sends a request and validates request and reply; with badRequest
	// the request must break the description too (the server and the
	// description agree it is wrong), and only the reply is validated.
	var badRequest bool
	check := func(method, path string, headers map[string]string, body []byte, wantStatus int) []byte {
		t.Helper()
		req, err := http.NewRequest(method, srv.url+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, val := range headers {
			req.Header.Set(k, val)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, wantStatus)
		}
		// The validator reads both bodies: give it fresh copies.
		vreq, _ := http.NewRequest(method, "http://127.0.0.1:8080"+path, bytes.NewReader(body))
		vreq.Header = req.Header.Clone()
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		validate := v.ValidateHttpRequestResponse
		if badRequest {
			if ok, _ := v.ValidateHttpRequest(vreq); ok {
				t.Errorf("%s %s: the description accepts a request the server refuses (%d %s)", method, path, resp.StatusCode, raw)
			}
			vreq, _ = http.NewRequest(method, "http://127.0.0.1:8080"+path, nil)
			vreq.Header = req.Header.Clone()
			validate = v.ValidateHttpResponse
		}
		if ok, verrs := validate(vreq, resp); !ok {
			for _, e := range verrs {
				detail := ""
				for _, se := range e.SchemaValidationErrors {
					detail += fmt.Sprintf("\n    %s at %s", se.Reason, se.FieldPath)
				}
				t.Errorf("%s %s (%d): %s: %s%s\n  body: %.300s", method, path, resp.StatusCode, e.Message, e.Reason, detail, raw)
			}
		}
		return raw
	}
	hook := map[string]string{"Content-Type": "application/json", "X-Webhook-Secret": testSecret}
	admin := map[string]string{"Authorization": "Bearer " + testAdmin}
	jsonAdmin := map[string]string{"Authorization": "Bearer " + testAdmin, "Content-Type": "application/json"}

	check("POST", "/api/v1/webhooks/product-sync", hook,
		[]byte(createBody(1, "Розы", "2 500 ₸", images.URL+"/img/roses.jpg", `,"url":"/catalog/roses/1/","images":["`+images.URL+`/img/daisy.jpg"]`)), 200)
	check("POST", "/api/v1/webhooks/product-sync", hook,
		[]byte(`{"event_type":"product.created","product_data":{"id":"AB-2","title":"Ромашки","price":"1 500 ₸","isAvailable":"N","image":"`+images.URL+`/img/none.jpg"}}`), 200)
	check("POST", "/api/v1/webhooks/product-sync", hook, []byte(`{"event_type":"ping"}`), 200)
	check("POST", "/api/v1/webhooks/product-sync", map[string]string{"Content-Type": "application/json", "X-Webhook-Secret": "wrong-secret-value"},
		[]byte(`{"event_type":"ping"}`), 401)
	badRequest = true
	check("POST", "/api/v1/webhooks/product-sync", hook, []byte(`{"event_type":"product.exploded","product_data":{"id":1}}`), 422)
	badRequest = false
	srv.waitFor("indexing", func() bool {
		st := srv.stats()
		return num(st["vectors"]) == 1 && num(st["queue"].(map[string]any)["failed"]) == 1
	})

	check("GET", "/api/v1/products/1?shop_id=8", nil, nil, 200)
	check("GET", "/api/v1/products/1?shop_id=8", admin, nil, 200)
	check("GET", "/api/v1/products/AB-2?shop_id=1", admin, nil, 200)
	check("GET", "/api/v1/products/404404", nil, nil, 404)
	check("GET", "/api/v1/products?shop_id=8&limit=1", nil, nil, 200)
	check("GET", "/api/v1/products?limit=10&deleted=true", admin, nil, 200)

	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("image", "query.jpg")
	fw.Write(rephotograph(t, readPhoto(t, "roses")))
	mw.WriteField("min_band", "any")
	mw.WriteField("shop_id", "8")
	mw.Close()
	if raw := check("POST", "/api/v1/search", map[string]string{"Content-Type": mw.FormDataContentType()}, form.Bytes(), 200); !strings.Contains(string(raw), `"matched_image"`) {
		t.Fatalf("search found nothing: %s", raw)
	}
	check("POST", "/api/v1/search", map[string]string{"Content-Type": "application/json"}, []byte(`{"product_id":1,"shop_id":8,"limit":5,"min_band":"any"}`), 200)
	badRequest = true
	check("POST", "/api/v1/search", map[string]string{"Content-Type": "application/json"}, []byte(`{"product_id":1,"min_band":"best"}`), 422)
	badRequest = false
	check("GET", "/api/v1/search/info", nil, nil, 200)

	check("GET", "/stats", nil, nil, 200)
	check("GET", "/api/v1/stats", nil, nil, 200)
	check("GET", "/healthz", nil, nil, 200)
	check("GET", "/readyz", nil, nil, 200)
	check("GET", "/api/v1/admin/failed", admin, nil, 200)
	check("GET", "/api/v1/admin/failed", map[string]string{"Authorization": "Bearer wrong-token"}, nil, 401)
	check("GET", "/api/v1/admin/overview", admin, nil, 200)
	check("GET", "/api/v1/admin/verify", admin, nil, 200)
	check("POST", "/api/v1/admin/retry", jsonAdmin, []byte(`{"product_id":"AB-2","shop_id":1}`), 202)
	check("POST", "/api/v1/admin/retry-failed", jsonAdmin, []byte(`{}`), 202)
	check("POST", "/reindex-one", jsonAdmin, []byte(`{"product_id":1,"shop_id":8}`), 200)
	check("POST", "/api/v1/reindex-one", jsonAdmin, []byte(`{"product_id":777,"shop_id":1}`), 404)

	served := check("GET", "/api/openapi.yaml", nil, nil, 200)
	if !bytes.Equal(served, api.OpenAPI) {
		t.Fatal("/api/openapi.yaml is not the embedded description")
	}
}
