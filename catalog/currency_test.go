package catalog

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// The table carries the standard's minor units, not two decimals for all.
func TestCurrencyExponents(t *testing.T) {
	for code, want := range map[string]int{
		"KZT": 2, "RUB": 2, "USD": 2, "EUR": 2, "UAH": 2, "BYN": 2, "KGS": 2, "UZS": 2, "AMD": 2, "GEL": 2,
		"AZN": 2, "TJS": 2, "TMT": 2, "MDL": 2,
		"JPY": 0, "KRW": 0, "VND": 0, "ISK": 0, "CLP": 0, "PYG": 0, "UGX": 0, "XOF": 0, "UYI": 0,
		"BHD": 3, "KWD": 3, "IQD": 3, "JOD": 3, "LYD": 3, "OMR": 3, "TND": 3,
		"CLF": 4, "UYW": 4,
	} {
		got, ok := CurrencyExponent(code)
		if !ok || got != want {
			t.Errorf("CurrencyExponent(%s) = %d, %v; want %d", code, got, ok, want)
		}
	}
	for _, code := range []string{"XAU", "XXX", "XTS", "HRK", "ABC", "kzt", ""} {
		if _, ok := CurrencyExponent(code); ok {
			t.Errorf("CurrencyExponent(%q) is known", code)
		}
	}
	if n := len(iso4217); n < 150 {
		t.Errorf("the ISO 4217 table has %d codes; list one has about 180", n)
	}
}

func TestNormalizeCurrency(t *testing.T) {
	for in, want := range map[string]string{
		"UAH": "UAH", "uah": "UAH", " byn ": "BYN", "RUR": "RUB", "rur": "RUB", "₸": "KZT", "тг": "KZT",
		"ТЕНГЕ": "KZT", "₽": "RUB", "руб.": "RUB", "₴": "UAH", "грн": "UAH", "сом": "KGS", "₾": "GEL", "֏": "AMD",
	} {
		if got, ok := NormalizeCurrency(in); !ok || got != want {
			t.Errorf("NormalizeCurrency(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "XYZ", "XAU", "рубли", "dollars", "KZTT"} {
		if got, ok := NormalizeCurrency(in); ok {
			t.Errorf("NormalizeCurrency(%q) = %q, want unknown", in, got)
		}
	}
}

func TestParsePriceCurrencies(t *testing.T) {
	tests := []struct {
		in       any
		currency string // the default for prices that name none
		want     Price
	}{
		{"1500 UAH", "", Price{150000, "UAH"}},
		{"1 500,50 грн", "", Price{150050, "UAH"}},
		{"₴99", "", Price{9900, "UAH"}},
		{"BYN 12,30", "", Price{1230, "BYN"}},
		{"5 000 сом", "", Price{500000, "KGS"}},
		{"120 000 UZS", "", Price{12000000, "UZS"}},
		{"2500 ֏", "", Price{250000, "AMD"}},
		{"45,5 ₾", "", Price{4550, "GEL"}},
		{"990 RUR", "", Price{99000, "RUB"}},
		{"1500 JPY", "", Price{1500, "JPY"}},
		{"1,500 JPY", "", Price{1500, "JPY"}},
		{"2500,00 JPY", "", Price{2500, "JPY"}},
		{"15 000 ₩", "", Price{15000, "KRW"}},
		{"1,250 BHD", "", Price{1250, "BHD"}},
		{"1 250,500 BHD", "", Price{1250500, "BHD"}},
		{"KWD 1.5", "", Price{1500, "KWD"}},
		{"1,2345 CLF", "", Price{12345, "CLF"}},
		{"1.5 UYW", "", Price{15000, "UYW"}},
		// No currency named: the default's decimals apply.
		{"1500", "JPY", Price{1500, "JPY"}},
		{json.Number("1500"), "JPY", Price{1500, "JPY"}},
		{1500, "KRW", Price{1500, "KRW"}},
		{json.Number("1.25"), "KWD", Price{1250, "KWD"}},
		{"1.250", "BHD", Price{1250, "BHD"}},
		{0.5, "UAH", Price{50, "UAH"}},
		{"2 500 ₸", "UAH", Price{250000, "KZT"}}, // what the price names wins
	}
	for _, tt := range tests {
		got, err := ParsePriceIn(tt.in, tt.currency)
		if err != nil || got != tt.want {
			t.Errorf("ParsePriceIn(%#v, %q) = %+v, %v; want %+v", tt.in, tt.currency, got, err, tt.want)
		}
	}
}

// A price with more decimals than its currency allows is refused, saying so.
func TestParsePriceCurrencyDecimals(t *testing.T) {
	tests := []struct {
		in       any
		currency string
		msg      string
	}{
		{"1500,5 JPY", "", `has decimal places, but JPY has none`},
		{json.Number("1500.5"), "JPY", "JPY has none"},
		{1500.5, "KRW", "KRW has none"},
		{"1,2345 BHD", "", "more than 3 decimal places (BHD has 3)"},
		{json.Number("1.2345"), "KWD", "more than 3 decimal places (KWD has 3)"},
		{"1,23456 CLF", "", "more than 4 decimal places (CLF has 4)"},
		{"2500.505 UAH", "", "more than 2 decimal places (UAH has 2)"},
		{"1500.000 JPY", "", "JPY has none"},
		{"2500", "XYZ", "unknown currency"},
	}
	for _, tt := range tests {
		got, err := ParsePriceIn(tt.in, tt.currency)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParsePriceIn(%#v, %q) = %+v, %v; want an error containing %q", tt.in, tt.currency, got, err, tt.msg)
		}
	}
}

func TestFormatPriceCurrencies(t *testing.T) {
	for _, tt := range []struct {
		in   Price
		want string
	}{
		{Price{1500, "JPY"}, "1 500 JPY"},
		{Price{1250, "BHD"}, "1,250 BHD"},
		{Price{1250500, "KWD"}, "1 250,500 KWD"},
		{Price{12345, "CLF"}, "1,2345 CLF"},
		{Price{150050, "UAH"}, "1 500,50 UAH"},
	} {
		if got := FormatPrice(tt.in); got != tt.want {
			t.Errorf("FormatPrice(%+v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := (Price{Minor: 1250, Currency: "BHD"}).Major(); got != 1.25 {
		t.Errorf("Major of 1250 BHD = %v", got)
	}
	if got := (Price{Minor: 1500, Currency: "JPY"}).Major(); got != 1500 {
		t.Errorf("Major of 1500 JPY = %v", got)
	}
}

// Every currency of the table survives FormatPrice and ParsePrice.
func TestFormatPriceRoundTripAllCurrencies(t *testing.T) {
	for code, exp := range iso4217 {
		for _, minor := range []int64{0, 1, 7, 1234, 999_999, 100_000_007, maxMinor(exp)} {
			p := Price{minor, code}
			got, err := ParsePrice(FormatPrice(p))
			if err != nil || got != p {
				t.Errorf("ParsePrice(FormatPrice(%+v) = %q) = %+v, %v", p, FormatPrice(p), got, err)
			}
		}
	}
}

// A webhook's price is read in the configured currency unless it names one,
// and too many decimals for it are a field error (422).
func TestParseEventCurrency(t *testing.T) {
	ev, err := ParseEventWith([]byte(`{"event_type":"product.updated","product_data":{"id":1,"price":1500}}`), EventOptions{Currency: "JPY"})
	if err != nil || *ev.Product.Price != (Price{1500, "JPY"}) {
		t.Fatalf("JPY shop, 1500: %+v, %v", ev.Product.Price, err)
	}
	ev, err = ParseEvent([]byte(`{"event_type":"product.updated","product_data":{"id":1,"price":"1 500,50 UAH"}}`))
	if err != nil || *ev.Product.Price != (Price{150050, "UAH"}) {
		t.Fatalf("UAH price: %+v, %v", ev.Product.Price, err)
	}
	_, err = ParseEventWith([]byte(`{"event_type":"product.updated","product_data":{"id":1,"price":"1500.5"}}`), EventOptions{Currency: "JPY"})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "product_data.price" || !strings.Contains(fe.Msg, "JPY has none") {
		t.Fatalf("JPY shop, 1500.5: %v", err)
	}
}
