package catalog

import (
	"encoding/json"
	"net/url"
	"strings"
)

// PageURL is the product's page on the shop's site, from the "url" field
// the CMS sent (kept among the extra fields): an absolute http(s) URL or a
// path on the shop's site such as "/catalog/roses/101/". Anything else
// (another scheme, a protocol-relative "//host", spaces or control
// characters) gives "", so a page that shows it as a link cannot be made to
// run a javascript: URL.
func (p *Product) PageURL() string {
	raw, ok := p.Extra["url"]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil || len(s) > 2048 || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return ""
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//"):
		return s
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
		return s
	}
	return ""
}
