package catalog

import (
	"encoding/json"
	"testing"
)

func TestPageURL(t *testing.T) {
	cases := map[string]string{
		`"/catalog/roses/101/"`:              "/catalog/roses/101/",
		`"https://cvety.kz/catalog/101/"`:    "https://cvety.kz/catalog/101/",
		`"http://cvety.kz/p?id=101&x=1#top"`: "http://cvety.kz/p?id=101&x=1#top",
		`"javascript:alert(1)"`:              "",
		`"JavaScript:alert(1)"`:              "",
		`"//evil.example/x"`:                 "",
		`"catalog/101"`:                      "",
		`"https:///nohost"`:                  "",
		`"/a b"`:                             "",
		`"/a\nb"`:                            "",
		`"data:text/html,x"`:                 "",
		`101`:                                "",
		`null`:                               "",
	}
	for raw, want := range cases {
		p := Product{Extra: map[string]json.RawMessage{"url": json.RawMessage(raw)}}
		if got := p.PageURL(); got != want {
			t.Errorf("url %s: PageURL() = %q, want %q", raw, got, want)
		}
	}
	if got := (&Product{}).PageURL(); got != "" {
		t.Errorf("no url: %q", got)
	}
}
