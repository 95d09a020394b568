package web

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/lookalike/lookalike/catalog"
)

// The pages format prices with the decimals of catalog's ISO 4217 table.
func TestMoneyDecimalsMatchCatalog(t *testing.T) {
	js, err := files.ReadFile("static/common.js")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)var DECIMALS = \{(.*?)\};`).FindSubmatch(js)
	if block == nil {
		t.Fatal("no DECIMALS table in common.js")
	}
	inJS := map[string]int{}
	for _, m := range regexp.MustCompile(`([A-Z]{3}): (\d)`).FindAllSubmatch(block[1], -1) {
		inJS[string(m[1])], _ = strconv.Atoi(string(m[2]))
	}
	for _, code := range catalog.CurrencyCodes() {
		exp, _ := catalog.CurrencyExponent(code)
		js, listed := inJS[code]
		if !listed {
			js = 2
		}
		if js != exp {
			t.Errorf("%s: common.js formats %d decimals, ISO 4217 has %d", code, js, exp)
		}
	}
}
