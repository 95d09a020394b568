package catalog

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Links a product may carry in product_data, kept among the extra fields:
// the product's page on the shop's site, and the shop's "notify me when it
// is back" page for a sold-out product.
const (
	KeyPageURL   = "url"
	KeyNotifyURL = "notify_url"
	maxLinkLen   = 2048
)

// PageURL is the product's page on the shop's site, from the "url" field
// the CMS sent: an absolute http(s) URL or a path on the shop's site such
// as "/catalog/roses/101/" (see Link); "" when none.
func (p *Product) PageURL() string { return p.link(KeyPageURL) }

// NotifyURL is the shop's "notify me" page for the product, from the
// "notify_url" field (same rules as PageURL); "" when none.
func (p *Product) NotifyURL() string { return p.link(KeyNotifyURL) }

func (p *Product) link(key string) string {
	raw, ok := p.Extra[key]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	l, _ := Link(s)
	return l
}

// Link checks a link a shopper's page may show: an absolute http(s) URL or
// a path on the shop's site, at most 2048 bytes. Anything else (another
// scheme, a protocol-relative "//host", spaces or control characters) is
// not a link, so a page that shows it cannot be made to run a javascript:
// URL. An empty string is no link, without an error.
func Link(s string) (string, error) {
	switch {
	case s == "":
		return "", nil
	case len(s) > maxLinkLen:
		return "", fmt.Errorf("URL is too long (%d bytes, at most %d)", len(s), maxLinkLen)
	case strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return "", fmt.Errorf("URL %s contains spaces or control characters", quoteShort(s))
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//"):
		return s, nil
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
		return s, nil
	}
	return "", fmt.Errorf("%s is not an http(s) URL or a path on the shop's site such as /catalog/roses/101/", quoteShort(s))
}

// AbsoluteLink makes a Link that is a path absolute against the shop's
// site (an absolute http(s) URL such as https://cvety.kz). Without a site
// the path stays as it is, for pages served on the shop's own host.
func AbsoluteLink(link, site string) string {
	if link == "" || !strings.HasPrefix(link, "/") {
		return link
	}
	base, err := url.Parse(site)
	if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
		return link
	}
	ref, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return base.ResolveReference(ref).String()
}

// checkLinks validates the links among a patch's extra fields (a string,
// "" for none, or null).
func checkLinks(extra map[string]json.RawMessage) error {
	for _, key := range []string{KeyPageURL, KeyNotifyURL} {
		raw, ok := extra[key]
		if !ok || isNull(raw) {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return &FieldError{Field: "product_data." + key, Msg: "must be a string URL"}
		}
		if _, err := Link(s); err != nil {
			return &FieldError{Field: "product_data." + key, Msg: err.Error()}
		}
	}
	return nil
}
