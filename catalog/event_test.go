package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Event
	}{
		{
			name: "full product",
			body: `{"event_type":"product.created","shop_id":8,"product_data":{"id":888888,"title":" Розы ","price":"2 500 ₸","isAvailable":true,"image":" https://cvety.kz/upload/a.jpg ","catalogHeight":"60 см","section":"roses","props":{"color":["red"]}}}`,
			want: Event{
				Type:   EventCreated,
				ShopID: 8,
				Product: Patch{
					ID:        "888888",
					Title:     ptr("Розы"),
					Price:     &Price{250000, "KZT"},
					PriceRaw:  ptr("2 500 ₸"),
					HeightCM:  ptr(60.0),
					HeightRaw: ptr("60 см"),
					Available: ptr(true),
					Image:     ptr("https://cvety.kz/upload/a.jpg"),
					Extra: map[string]json.RawMessage{
						"section": json.RawMessage(`"roses"`),
						"props":   json.RawMessage(`{"color":["red"]}`),
					},
				},
			},
		},
		{
			name: "1C code as the id",
			body: `{"event_type":"product.updated","product_data":{"id":"00000085340_1"}}`,
			want: Event{Type: EventUpdated, Product: Patch{ID: "00000085340_1"}},
		},
		{
			name: "update with a few fields and numeric price",
			body: `{"event_type":"product.updated","product_data":{"id":"42","price":2500.5,"isAvailable":"N"}}`,
			want: Event{
				Type: EventUpdated,
				Product: Patch{
					ID:        "42",
					Price:     &Price{250050, "KZT"},
					PriceRaw:  ptr("2500.5"),
					Available: ptr(false),
				},
			},
		},
		{
			name: "delete with only an id",
			body: `{"event_type":"product.deleted","shop_id":"3","product_data":{"id":7}}`,
			want: Event{Type: EventDeleted, ShopID: 3, Product: Patch{ID: "7"}},
		},
		{
			name: "nulls count as absent",
			body: `{"event_type":"product.updated","shop_id":null,"product_data":{"id":7,"title":null,"price":null,"catalogHeight":null,"isAvailable":null,"image":null,"other":null}}`,
			want: Event{Type: EventUpdated, Product: Patch{ID: "7", Extra: map[string]json.RawMessage{"other": json.RawMessage("null")}}},
		},
		{
			name: "empty height is absent, empty image means no image",
			body: `{"event_type":"product.updated","product_data":{"id":7,"catalogHeight":"  ","image":""}}`,
			want: Event{Type: EventUpdated, Product: Patch{ID: "7", Image: ptr("")}},
		},
		{
			name: "numeric height",
			body: `{"event_type":"product.updated","product_data":{"id":7,"catalogHeight":45}}`,
			want: Event{Type: EventUpdated, Product: Patch{ID: "7", HeightCM: ptr(45.0), HeightRaw: ptr("45")}},
		},
		{
			name: "keys are case-sensitive",
			body: `{"event_type":"product.updated","product_data":{"id":7,"Price":"abc","ID":1}}`,
			want: Event{Type: EventUpdated, Product: Patch{ID: "7", Extra: map[string]json.RawMessage{
				"Price": json.RawMessage(`"abc"`), "ID": json.RawMessage("1"),
			}}},
		},
		{
			name: "unknown top-level keys are ignored",
			body: ` {"event_type":"product.updated","ts":123,"product_data":{"id":7}} `,
			want: Event{Type: EventUpdated, Product: Patch{ID: "7"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEvent([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseEvent: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseEvent =\n%s\nwant\n%s", dump(got), dump(tt.want))
			}
		})
	}
}

func dump(ev Event) string {
	b, _ := json.MarshalIndent(ev, "", "  ")
	return string(b)
}

func TestParseEventImages(t *testing.T) {
	ev, err := ParseEvent([]byte(`{"event_type":"product.updated","product_data":{"id":1,"image":"https://x/a.jpg","images":[" https://x/b.jpg ","https://x/c.jpg"]}}`))
	if err != nil || ev.Product.Images == nil || !reflect.DeepEqual(*ev.Product.Images, []string{"https://x/b.jpg", "https://x/c.jpg"}) || *ev.Product.Image != "https://x/a.jpg" {
		t.Fatalf("images: %+v %v", ev.Product, err)
	}
	if _, ok := ev.Product.Extra["images"]; ok {
		t.Fatal("images also kept as an extra field")
	}
	ev, _ = ParseEvent([]byte(`{"event_type":"product.updated","product_data":{"id":1,"images":null}}`))
	if ev.Product.Images != nil {
		t.Fatalf("null images: %v", *ev.Product.Images)
	}
}

func TestParseEventErrors(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantErr   error
		wantField string // for ErrInvalid
		wantMsg   string // substring of Error()
	}{
		{"empty body", ``, ErrMalformed, "", "malformed JSON"},
		{"syntax", `{"event_type":`, ErrMalformed, "", "malformed JSON"},
		{"array", `[1,2]`, ErrMalformed, "", "expected an object, got array"},
		{"string", `"x"`, ErrMalformed, "", "expected an object"},
		{"null", `null`, ErrMalformed, "", "got null"},
		{"trailing garbage", `{"event_type":"product.created"} x`, ErrMalformed, "", "malformed JSON"},
		{"two objects", `{}{}`, ErrMalformed, "", "malformed JSON"},
		{"missing event type", `{"product_data":{"id":1}}`, ErrInvalid, "event_type", "event_type: is missing"},
		{"unknown event type", `{"event_type":"product.moved","product_data":{"id":1}}`, ErrInvalid, "event_type", `unknown event type "product.moved"`},
		{"event type case", `{"event_type":"Product.Created","product_data":{"id":1}}`, ErrInvalid, "event_type", "unknown event type"},
		{"event type key case", `{"Event_Type":"product.created","product_data":{"id":1}}`, ErrInvalid, "event_type", "is missing"},
		{"event type not string", `{"event_type":1,"product_data":{"id":1}}`, ErrInvalid, "event_type", "must be a string"},
		{"missing product_data", `{"event_type":"product.created"}`, ErrInvalid, "product_data", "is missing"},
		{"null product_data", `{"event_type":"product.created","product_data":null}`, ErrInvalid, "product_data", "is missing"},
		{"product_data not object", `{"event_type":"product.created","product_data":[1]}`, ErrInvalid, "product_data", "must be an object"},
		{"missing id", `{"event_type":"product.created","product_data":{"title":"x"}}`, ErrInvalid, "product_data.id", "product_data.id: is missing"},
		{"zero id", `{"event_type":"product.created","product_data":{"id":0}}`, ErrInvalid, "product_data.id", "positive integer"},
		{"fraction id", `{"event_type":"product.created","product_data":{"id":1.5}}`, ErrInvalid, "product_data.id", "cannot parse"},
		{"slash in id", `{"event_type":"product.created","product_data":{"id":"a/b"}}`, ErrInvalid, "product_data.id", `id "a/b" contains '/', which is not allowed`},
		{"quote in id", `{"event_type":"product.created","product_data":{"id":"\""}}`, ErrInvalid, "product_data.id", `contains '"', which is not allowed`},
		{"long id", `{"event_type":"product.created","product_data":{"id":"` + strings.Repeat("7", 65) + `"}}`, ErrInvalid, "product_data.id", "too long (65 characters, at most 64)"},
		{"bad shop id", `{"event_type":"product.created","shop_id":-1,"product_data":{"id":1}}`, ErrInvalid, "shop_id", "positive integer"},
		{"bad price", `{"event_type":"product.created","product_data":{"id":1,"price":"abc"}}`, ErrInvalid, "product_data.price",
			`product_data.price: cannot parse "abc" as a price (expected e.g. "2 500 ₸" or 2500)`},
		{"bool price", `{"event_type":"product.created","product_data":{"id":1,"price":true}}`, ErrInvalid, "product_data.price", "cannot parse true"},
		{"bad height", `{"event_type":"product.created","product_data":{"id":1,"catalogHeight":"tall"}}`, ErrInvalid, "product_data.catalogHeight", "cannot parse"},
		{"negative height", `{"event_type":"product.created","product_data":{"id":1,"catalogHeight":-3}}`, ErrInvalid, "product_data.catalogHeight", "negative"},
		{"bad availability", `{"event_type":"product.created","product_data":{"id":1,"isAvailable":"maybe"}}`, ErrInvalid, "product_data.isAvailable", "boolean"},
		{"title not string", `{"event_type":"product.created","product_data":{"id":1,"title":5}}`, ErrInvalid, "product_data.title", "must be a string, got 5"},
		{"title too long", `{"event_type":"product.created","product_data":{"id":1,"title":"` + strings.Repeat("я", 1001) + `"}}`, ErrInvalid, "product_data.title", "too long (1001 characters"},
		{"image not string", `{"event_type":"product.created","product_data":{"id":1,"image":{}}}`, ErrInvalid, "product_data.image", "must be a string URL, got an object"},
		{"image too long", `{"event_type":"product.created","product_data":{"id":1,"image":"https://x/` + strings.Repeat("a", 2048) + `"}}`, ErrInvalid, "product_data.image", "too long"},
		{"images not a list", `{"event_type":"product.created","product_data":{"id":1,"images":"https://x/a.jpg"}}`, ErrInvalid, "product_data.images", "must be a list of image URLs"},
		{"images entry not string", `{"event_type":"product.created","product_data":{"id":1,"images":["https://x/a.jpg",{}]}}`, ErrInvalid, "product_data.images[1]", "must be a string URL, got an object"},
		{"images entry too long", `{"event_type":"product.created","product_data":{"id":1,"images":["https://x/` + strings.Repeat("a", 2048) + `"]}}`, ErrInvalid, "product_data.images[0]", "too long"},
		{"too many images", `{"event_type":"product.created","product_data":{"id":1,"images":[` + strings.Repeat(`"x",`, 100) + `"x"]}}`, ErrInvalid, "product_data.images", "has 101 entries, at most 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := ParseEvent([]byte(tt.body))
			if err == nil {
				t.Fatalf("ParseEvent = %+v, want error", ev)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q is not %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			var fe *FieldError
			if tt.wantErr == ErrInvalid {
				if !errors.As(err, &fe) {
					t.Fatalf("error %T is not a *FieldError", err)
				}
				if fe.Field != tt.wantField {
					t.Errorf("Field = %q, want %q", fe.Field, tt.wantField)
				}
			} else if errors.As(err, &fe) || errors.Is(err, ErrInvalid) {
				t.Errorf("malformed error %q also reports ErrInvalid", err)
			}
		})
	}
}

func TestParseEventTitleLimit(t *testing.T) {
	title := strings.Repeat("я", maxTitleRunes)
	body := `{"event_type":"product.created","product_data":{"id":1,"title":"` + title + `"}}`
	ev, err := ParseEvent([]byte(body))
	if err != nil {
		t.Fatalf("ParseEvent: %v", err)
	}
	if *ev.Product.Title != title {
		t.Errorf("title changed")
	}
}

func TestParseEventExtraIsCopied(t *testing.T) {
	body := []byte(`{"event_type":"product.created","product_data":{"id":1,"x":"abc"}}`)
	ev, err := ParseEvent(body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = ' '
	}
	if got := string(ev.Product.Extra["x"]); got != `"abc"` {
		t.Errorf("Extra aliases the body: %q", got)
	}
}

func TestParseEventBlankFieldsAreAbsent(t *testing.T) {
	ev, err := ParseEvent([]byte(`{"event_type":"product.updated","product_data":{"id":1,"price":" ","catalogHeight":"","title":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Product.Price != nil || ev.Product.PriceRaw != nil || ev.Product.HeightCM != nil || ev.Product.Title == nil {
		t.Fatalf("blank price/height not treated as absent: %+v", ev.Product)
	}
}

func TestParseEventVersion(t *testing.T) {
	cases := []struct {
		data string
		want int64
	}{
		{`"version":7`, 7},
		{`"version":"12"`, 12},
		{`"TIMESTAMP_X":"27.11.2026 15:04:05"`, time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC).UnixMicro()},
		{`"timestamp_x":"2026-11-27 15:04:05"`, time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC).UnixMicro()},
		{`"updated_at":"2026-11-27T15:04:05+05:00"`, time.Date(2026, 11, 27, 10, 4, 5, 0, time.UTC).UnixMicro()},
	}
	for _, c := range cases {
		ev, err := ParseEvent([]byte(`{"event_type":"product.updated","product_data":{"id":1,` + c.data + `}}`))
		if err != nil {
			t.Fatalf("%s: %v", c.data, err)
		}
		if ev.Product.Version == nil || *ev.Product.Version != c.want {
			t.Fatalf("%s: version %v, want %d", c.data, ev.Product.Version, c.want)
		}
	}
	for _, bad := range []string{`"version":-1`, `"version":1.5`, `"TIMESTAMP_X":"вчера"`, `"version":true`} {
		_, err := ParseEvent([]byte(`{"event_type":"product.updated","product_data":{"id":1,` + bad + `}}`))
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: err = %v, want ErrInvalid", bad, err)
		}
	}
	ev, _ := ParseEvent([]byte(`{"event_type":"product.updated","product_data":{"id":1}}`))
	if ev.Product.Version != nil {
		t.Fatal("version without a version field")
	}
}

func TestParseEventExtraLimit(t *testing.T) {
	body := func(extra string) string {
		return `{"event_type":"product.created","product_data":{"id":1,"title":"` + strings.Repeat("я", maxTitleRunes) + `"` + extra + `}}`
	}
	// {"notes":"…"} is the value's length plus 12 bytes.
	notes := func(n int) string { return `,"notes":"` + strings.Repeat("a", n) + `"` }
	var many strings.Builder
	for i := range 60000 {
		fmt.Fprintf(&many, `,"k%d":%d`, i, i)
	}
	tests := []struct {
		name  string
		extra string
		ok    bool
	}{
		{"none", "", true},
		{"at the limit", notes(MaxExtraBytes - 12), true},
		{"one byte over", notes(MaxExtraBytes - 11), false},
		{"spaces do not count", `,"notes"  :  ` + strings.Repeat(" ", 100000) + `"` + strings.Repeat("a", MaxExtraBytes-12) + `"`, true},
		{"60,000 keys", many.String(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := ParseEvent([]byte(body(tt.extra)))
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if ev.Product.Title == nil {
					t.Fatal("known fields lost")
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) || fe.Field != "product_data" {
				t.Fatalf("error %v, want a FieldError on product_data", err)
			}
			if !strings.Contains(err.Error(), "over the limit of 65536 bytes (64 KiB)") {
				t.Errorf("message does not name the limit: %q", err)
			}
		})
	}
}

func TestMergeExtra(t *testing.T) {
	big := func(prefix string, n int) map[string]json.RawMessage {
		m := map[string]json.RawMessage{}
		for i := range n {
			m[fmt.Sprintf("%s%d", prefix, i)] = json.RawMessage(`"` + strings.Repeat("x", 1000) + `"`)
		}
		return m
	}
	old := big("a", 40) // about 40 KiB
	tests := []struct {
		name    string
		old     map[string]json.RawMessage
		patch   map[string]json.RawMessage
		wantLen int // -1: an error
	}{
		{"no patch keeps old", old, nil, 40},
		{"new keys", map[string]json.RawMessage{"a": json.RawMessage("1")}, map[string]json.RawMessage{"b": json.RawMessage("2")}, 2},
		{"same keys replaced", old, big("a", 40), 40},
		{"together over the limit", old, big("b", 30), -1},
		{"nothing stored yet", nil, big("b", 30), 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MergeExtra(tt.old, tt.patch)
			if tt.wantLen < 0 {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "with the fields stored before") {
					t.Fatalf("MergeExtra = %d fields, %v; want an ErrInvalid", len(got), err)
				}
				return
			}
			if err != nil || len(got) != tt.wantLen {
				t.Fatalf("MergeExtra = %d fields, %v; want %d", len(got), err, tt.wantLen)
			}
		})
	}
	if len(old) != 40 {
		t.Fatal("old was modified")
	}
}
