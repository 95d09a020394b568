package catalog

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseProductID(t *testing.T) {
	tests := []struct {
		in      any
		want    ProductID
		wantErr string // a part of the message; "" when valid
	}{
		{json.Number("888888"), "888888", ""},
		{"888888", "888888", ""},
		{" 888888 ", "888888", ""},
		{888888.0, "888888", ""},
		{888888, "888888", ""},
		{json.Number("8.88888e5"), "888888", ""},
		{json.Number("9007199254740992"), "9007199254740992", ""},
		{json.Number("9007199254740993"), "", "out of range"},
		{"00000085340_1", "00000085340_1", ""},
		{"AB12cd", "AB12cd", ""},
		{"007", "007", ""}, // not 7
		{"a.b-c_d", "a.b-c_d", ""},
		{"99999999999999999999", "99999999999999999999", ""}, // text: too large for a number
		{strings.Repeat("x", 64), ProductID(strings.Repeat("x", 64)), ""},
		{strings.Repeat("x", 65), "", "too long (65 characters, at most 64)"},
		{"a/b", "", `contains '/'`},
		{`a"b`, "", `contains '"'`},
		{"лес", "", "not allowed"},
		{"a b", "", "not allowed"},
		{"+5", "", "not allowed"},
		{"", "", "empty"},
		{"  ", "", "empty"},
		{"0", "", "positive"},
		{"000", "", "positive"},
		{".", "", "URL path"},
		{"..", "", "URL path"},
		{json.Number("0"), "", "positive"},
		{json.Number("-5"), "", "positive"},
		{1.5, "", "id"},
		{true, "", "id"},
		{nil, "", "missing"},
	}
	for _, tt := range tests {
		got, err := ParseProductID(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseProductID(%#v) = %q, %v; want an error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseProductID(%#v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestProductIDJSON(t *testing.T) {
	tests := []struct {
		id   ProductID
		want string
	}{
		{"888888", `888888`},
		{"1", `1`},
		{"9007199254740992", `9007199254740992`},
		{"9007199254740993", `"9007199254740993"`}, // past 2^53: a JSON reader could not hold it exactly
		{"007", `"007"`},
		{"00000085340_1", `"00000085340_1"`},
		{"AB12cd", `"AB12cd"`},
		{"1.5", `"1.5"`},
		{"-5", `"-5"`},
		{"1e5", `"1e5"`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(map[string]ProductID{"id": tt.id})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(b); got != `{"id":`+tt.want+`}` {
			t.Errorf("Marshal(%q) = %s, want %s", tt.id, got, tt.want)
		}
		var back struct{ ID ProductID }
		if err := json.Unmarshal(b, &back); err != nil || back.ID != tt.id {
			t.Errorf("Unmarshal(%s) = %q, %v; want %q", b, back.ID, err, tt.id)
		}
	}
	var v struct{ ID ProductID }
	if err := json.Unmarshal([]byte(`{"ID":"a/b"}`), &v); err == nil {
		t.Errorf("Unmarshal of a/b succeeded")
	}
}

// Every accepted id survives a JSON round trip, written as a number or a
// string, and a number is written only for ids the number reads back as.
func FuzzProductIDJSON(f *testing.F) {
	for _, s := range []string{"888888", "007", "00000085340_1", "AB12cd", "9007199254740993", "1e5", "-1", "a/b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseProductIDText(s)
		if err != nil {
			return
		}
		b, err := json.Marshal(id)
		if err != nil {
			t.Fatal(err)
		}
		var back ProductID
		if err := json.Unmarshal(b, &back); err != nil || back != id {
			t.Fatalf("%q -> %s -> %q, %v", id, b, back, err)
		}
		if _, isNum := id.Number(); isNum != (b[0] != '"') {
			t.Fatalf("%q written as %s", id, b)
		}
	})
}
