package web

import (
	"maps"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/catalog"
)

// The pages format prices with the decimals of catalog's ISO 4217 table.
func TestMoneyDecimalsMatchCatalog(t *testing.T) {
	js, err := files.ReadFile("static/core.js")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)var DECIMALS = \{(.*?)\};`).FindSubmatch(js)
	if block == nil {
		t.Fatal("no DECIMALS table in core.js")
	}
	inJS := map[string]int{}
	for _, m := range regexp.MustCompile(`([A-Z]{3}): (\d)`).FindAllSubmatch(block[1], -1) {
		inJS[string(m[1])], _ = strconv.Atoi(string(m[2]))
	}
	if want := catalog.OddExponents(); !maps.Equal(inJS, want) {
		t.Errorf("core.js lists currencies without two decimals as %v; ISO 4217: %v", inJS, want)
	}
}

// The price filter's labels name the shop's currency.
func TestPriceFilterLabelsNameTheCurrency(t *testing.T) {
	for sign, want := range map[string][]string{"": {"Цена от, ₸", "Price up to, ₸"}, "₴": {"Цена от, ₴", "Price up to, ₴"}} {
		h := Handler(Options{CurrencySign: sign})
		page := body(t, get(t, h, "/?lang=ru", nil)) + body(t, get(t, h, "/?lang=en", nil))
		for _, w := range want {
			if !strings.Contains(page, w) {
				t.Errorf("sign %q: the shop page has no %q", sign, w)
			}
		}
		if strings.Contains(page, "{currency}") {
			t.Errorf("sign %q: a {currency} placeholder is left on the page", sign)
		}
	}
}
