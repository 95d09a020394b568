package catalog

import (
	"encoding/json"
	"errors"
	"strings"
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

func TestNotifyURL(t *testing.T) {
	p := Product{Extra: map[string]json.RawMessage{"notify_url": json.RawMessage(`"/personal/subscribe/?id=101"`), "url": json.RawMessage(`"https://cvety.kz/p/101/"`)}}
	if got := p.NotifyURL(); got != "/personal/subscribe/?id=101" {
		t.Errorf("NotifyURL() = %q", got)
	}
	if got := p.PageURL(); got != "https://cvety.kz/p/101/" {
		t.Errorf("PageURL() = %q", got)
	}
}

func TestAbsoluteLink(t *testing.T) {
	for _, c := range []struct{ link, site, want string }{
		{"/catalog/101/", "https://cvety.kz", "https://cvety.kz/catalog/101/"},
		{"/catalog/101/?a=1", "https://cvety.kz/shop/", "https://cvety.kz/catalog/101/?a=1"},
		{"/catalog/101/", "", "/catalog/101/"},
		{"https://other.kz/x", "https://cvety.kz", "https://other.kz/x"},
		{"https://other.kz/x", "", "https://other.kz/x"},
		{"", "https://cvety.kz", ""},
	} {
		if got := AbsoluteLink(c.link, c.site); got != c.want {
			t.Errorf("AbsoluteLink(%q, %q) = %q, want %q", c.link, c.site, got, c.want)
		}
	}
}

func TestParseEventLinks(t *testing.T) {
	ok := []string{`"https://cvety.kz/p/101/"`, `"/catalog/101/"`, `""`, `null`}
	for _, v := range ok {
		for _, key := range []string{"url", "notify_url"} {
			body := `{"event_type":"product.updated","product_data":{"id":101,"` + key + `":` + v + `}}`
			if _, err := ParseEvent([]byte(body)); err != nil {
				t.Errorf("%s %s: %v", key, v, err)
			}
		}
	}
	bad := []string{`"javascript:alert(1)"`, `"//evil.example/x"`, `"catalog/101"`, `"/a b"`, `101`, `"https://x.kz/` + strings.Repeat("a", 2100) + `"`}
	for _, v := range bad {
		for _, key := range []string{"url", "notify_url"} {
			body := `{"event_type":"product.updated","product_data":{"id":101,"` + key + `":` + v + `}}`
			_, err := ParseEvent([]byte(body))
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "product_data."+key {
				t.Errorf("%s %.40s: error %v, want a FieldError on product_data.%s", key, v, err, key)
			}
		}
	}
}
