package catalog

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestParsePrice(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want Price
	}{
		{"spaces and tenge", "2 500 ₸", Price{250000, "KZT"}},
		{"decimal comma", "2 500,50 ₸", Price{250050, "KZT"}},
		{"tg", "2500 тг", Price{250000, "KZT"}},
		{"tg dot", "2500 тг.", Price{250000, "KZT"}},
		{"tenge word", "2500 тенге", Price{250000, "KZT"}},
		{"KZT code", "2500 KZT", Price{250000, "KZT"}},
		{"kzt lower", "2500kzt", Price{250000, "KZT"}},
		{"prefix sign and thousands comma", "₸2,500", Price{250000, "KZT"}},
		{"decimal comma one digit", "2,5", Price{250, "KZT"}},
		{"decimal comma two digits", "2,55", Price{255, "KZT"}},
		{"decimal dot", "2500.50", Price{250050, "KZT"}},
		{"decimal dot one digit", "2500.5", Price{250050, "KZT"}},
		{"millions", "1 234 567 ₸", Price{123456700, "KZT"}},
		{"no-break space", "2\u00a0500\u00a0₸", Price{250000, "KZT"}},
		{"narrow no-break space", "2\u202f500 ₸", Price{250000, "KZT"}},
		{"thin space", "1\u2009234\u2009567,05", Price{123456705, "KZT"}},
		{"no marker", "2500", Price{250000, "KZT"}},
		{"surrounding space", "  2500  ", Price{250000, "KZT"}},
		{"thousands commas", "1,234,567", Price{123456700, "KZT"}},
		{"us style", "$2,500.75", Price{250075, "USD"}},
		{"european style", "2.500,75 €", Price{250075, "EUR"}},
		{"rub sign", "990 ₽", Price{99000, "RUB"}},
		{"rub word", "990 руб.", Price{99000, "RUB"}},
		{"rub short", "990руб", Price{99000, "RUB"}},
		{"RUB code", "RUB 990", Price{99000, "RUB"}},
		{"usd code", "15 USD", Price{1500, "USD"}},
		{"eur code", "EUR15", Price{1500, "EUR"}},
		{"upper case tg", "100 ТГ", Price{10000, "KZT"}},
		{"zero", "0", Price{0, "KZT"}},
		{"max", "1 000 000 000 000", Price{100_000_000_000_000, "KZT"}},
		{"leading zeros", "007", Price{700, "KZT"}},
		{"json int", json.Number("2500"), Price{250000, "KZT"}},
		{"json fraction", json.Number("2500.5"), Price{250050, "KZT"}},
		{"json trailing zeros", json.Number("2500.500"), Price{250050, "KZT"}},
		{"json exponent", json.Number("2.5e3"), Price{250000, "KZT"}},
		{"json negative zero", json.Number("-0"), Price{0, "KZT"}},
		{"float", 2500.5, Price{250050, "KZT"}},
		{"float cents", 0.1, Price{10, "KZT"}},
		{"float32", float32(19.99), Price{1999, "KZT"}},
		{"int", 2500, Price{250000, "KZT"}},
		{"int64", int64(7), Price{700, "KZT"}},
		{"uint8", uint8(7), Price{700, "KZT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrice(tt.in)
			if err != nil {
				t.Fatalf("ParsePrice(%#v): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParsePrice(%#v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParsePriceErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      any
		wantMsg string // substring of the error
	}{
		{"garbage", "abc", `cannot parse "abc" as a price (expected e.g. "2 500 ₸" or 2500)`},
		{"empty", "", "empty price"},
		{"blank", "  \u00a0 ", "empty price"},
		{"negative", "-5", "negative price"},
		{"negative unicode minus", "−5 ₸", "negative price"},
		{"negative number", json.Number("-5"), "negative price"},
		{"negative float", -0.5, "negative price"},
		{"negative int", -1, "negative price"},
		{"three decimals dot", "2500.505", "more than 2 decimal places"},
		{"three decimals comma after spaces", "2 500,505", "more than 2 decimal places"},
		{"ambiguous dot thousands", "2.500", "more than 2 decimal places"},
		{"three decimals number", json.Number("2500.505"), "more than 2 decimal places"},
		{"three decimals float", 0.125, "more than 2 decimal places"},
		{"too large", "1 000 000 000 000,01", "too large"},
		{"too large digits", "99999999999999999999999", "too large"},
		{"too large number", json.Number("1e13"), "too large"},
		{"too large float", 1e13, "too large"},
		{"too large int", int64(math.MaxInt64), "too large"},
		{"too large uint", uint64(math.MaxUint64), "too large"},
		{"NaN", math.NaN(), "cannot parse"},
		{"Inf", math.Inf(1), "cannot parse"},
		{"bad grouping", "25 00", "cannot parse"},
		{"double space", "2  500", "cannot parse"},
		{"first group too long", "2500 000", "cannot parse"},
		{"leading separator", " ,500", "cannot parse"},
		{"trailing separator", "2500,", "cannot parse"},
		{"lone dot", ".", "cannot parse"},
		{"fraction only", ",50", "cannot parse"},
		{"two decimals marks", "2.500.50,1.0", "cannot parse"},
		{"mixed grouping", "1 234,567.00", "cannot parse"},
		{"two currencies", "₸ 2500 ₸", "cannot parse"},
		{"words", "от 2500 ₸", "cannot parse"},
		{"exponent in text", "2.5e3", "cannot parse"},
		{"hex", "0x10", "cannot parse"},
		{"bad json number", json.Number("abc"), "cannot parse"},
		{"json number leading zero", json.Number("012"), "cannot parse"},
		{"json huge exponent", json.Number("1e999999"), "cannot parse"},
		{"bool", true, "cannot parse true as a price"},
		{"null", nil, "price is missing"},
		{"object", map[string]any{}, "cannot parse an object as a price"},
		{"very long", strings.Repeat("1", 100), "cannot parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrice(tt.in)
			if err == nil {
				t.Fatalf("ParsePrice(%#v) = %+v, want error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("ParsePrice(%#v) error %q, want it to contain %q", tt.in, err, tt.wantMsg)
			}
		})
	}
}

func TestFormatPrice(t *testing.T) {
	tests := []struct {
		in   Price
		want string
	}{
		{Price{250000, "KZT"}, "2 500 ₸"},
		{Price{250050, "KZT"}, "2 500,50 ₸"},
		{Price{250005, "KZT"}, "2 500,05 ₸"},
		{Price{0, "KZT"}, "0 ₸"},
		{Price{5, "KZT"}, "0,05 ₸"},
		{Price{99900, "KZT"}, "999 ₸"},
		{Price{123456700, "KZT"}, "1 234 567 ₸"},
		{Price{100_000_000_000_000, "KZT"}, "1 000 000 000 000 ₸"},
		{Price{99000, "RUB"}, "990 ₽"},
		{Price{1999, "USD"}, "19,99 $"},
		{Price{1500, "EUR"}, "15 €"},
		{Price{1500, ""}, "15 ₸"},
		{Price{1500, "GBP"}, "15 GBP"},
		{Price{-1500, "KZT"}, "-15 ₸"},
	}
	for _, tt := range tests {
		if got := FormatPrice(tt.in); got != tt.want {
			t.Errorf("FormatPrice(%+v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPriceMajor(t *testing.T) {
	tests := []struct {
		minor int64
		want  float64
	}{
		{250050, 2500.5},
		{250000, 2500},
		{1, 0.01},
		{0, 0},
	}
	for _, tt := range tests {
		if got := (Price{Minor: tt.minor}).Major(); got != tt.want {
			t.Errorf("Price{%d}.Major() = %v, want %v", tt.minor, got, tt.want)
		}
	}
}

func TestFormatPriceRoundTrip(t *testing.T) {
	for _, minor := range []int64{0, 1, 10, 99, 100, 101, 99999, 100000, 250050, 123456789, 100_000_000_000_000} {
		for _, cur := range []string{"KZT", "RUB", "USD", "EUR"} {
			p := Price{minor, cur}
			got, err := ParsePrice(FormatPrice(p))
			if err != nil || got != p {
				t.Errorf("ParsePrice(FormatPrice(%+v) = %q) = %+v, %v", p, FormatPrice(p), got, err)
			}
		}
	}
}

func TestParseHeight(t *testing.T) {
	tests := []struct {
		in   any
		want float64
	}{
		{"60 см", 60},
		{"60см", 60},
		{"60 СМ", 60},
		{"60 см.", 60},
		{"60cm", 60},
		{"60 CM", 60},
		{"60", 60},
		{" 60\u00a0см ", 60},
		{"0.6 м", 60},
		{"0,6 м", 60},
		{"600 мм", 60},
		{"605mm", 60.5},
		{"60.5 см", 60.5},
		{"60,5", 60.5},
		{"1.2m", 120},
		{"0", 0},
		{"0.0 м", 0},
		{"100 m", 10000},
		{json.Number("60"), 60},
		{json.Number("60.5"), 60.5},
		{60, 60},
		{60.5, 60.5},
		{float32(12.5), 12.5},
		{uint16(70), 70},
		{math.Copysign(0, -1), 0}, // negative zero
	}
	for _, tt := range tests {
		got, err := ParseHeight(tt.in)
		if err != nil {
			t.Errorf("ParseHeight(%#v): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseHeight(%#v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseHeightErrors(t *testing.T) {
	tests := []struct {
		in      any
		wantMsg string
	}{
		{"", "empty height"},
		{"-60 см", "negative height"},
		{json.Number("-1"), "negative height"},
		{-1, "negative height"},
		{-0.5, "negative height"},
		{"высокий", "cannot parse"},
		{"60 km", "cannot parse"},
		{"см", "cannot parse"},
		{"60.", "cannot parse"}, // "60." → trailing dot then an empty fraction
		{"6.0.0", "cannot parse"},
		{"1e3", "cannot parse"},
		{".5 м", "cannot parse"},
		{"101 m", "out of range"},
		{json.Number("1e9"), "out of range"},
		{math.NaN(), "cannot parse"},
		{math.Inf(1), "cannot parse"},
		{true, "cannot parse true as a height"},
		{nil, "missing"},
		{json.Number("x"), "cannot parse"},
	}
	for _, tt := range tests {
		got, err := ParseHeight(tt.in)
		if err == nil {
			t.Errorf("ParseHeight(%#v) = %v, want error", tt.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("ParseHeight(%#v) error %q, want it to contain %q", tt.in, err, tt.wantMsg)
		}
	}
}

func TestParseBool(t *testing.T) {
	tests := []struct {
		in      any
		want    bool
		wantErr bool
	}{
		{true, true, false},
		{false, false, false},
		{"Y", true, false},
		{"N", false, false},
		{"y", true, false},
		{"n", false, false},
		{"true", true, false},
		{"false", false, false},
		{"TRUE", true, false},
		{"1", true, false},
		{"0", false, false},
		{" Y ", true, false},
		{json.Number("1"), true, false},
		{json.Number("0"), false, false},
		{1.0, true, false},
		{0.0, false, false},
		{1, true, false},
		{0, false, false},
		{uint(1), true, false},
		{"yes please", false, true},
		{"", false, true},
		{json.Number("2"), false, true},
		{2, false, true},
		{0.5, false, true},
		{nil, false, true},
		{[]any{}, false, true},
	}
	for _, tt := range tests {
		got, err := ParseBool(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseBool(%#v) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseBool(%#v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseID(t *testing.T) {
	tests := []struct {
		in      any
		want    int64
		wantErr bool
	}{
		{json.Number("888888"), 888888, false},
		{"888888", 888888, false},
		{" 888888 ", 888888, false},
		{888888.0, 888888, false},
		{888888, 888888, false},
		{uint32(5), 5, false},
		{json.Number("888888.0"), 888888, false},
		{json.Number("8.88888e5"), 888888, false},
		{json.Number("9007199254740992"), 1 << 53, false},
		{json.Number("9007199254740993"), 0, true},
		{"9007199254740993", 0, true},
		{"99999999999999999999", 0, true},
		{uint64(1<<53 + 1), 0, true},
		{float64(1 << 54), 0, true},
		{json.Number("0"), 0, true},
		{json.Number("-5"), 0, true},
		{-5, 0, true},
		{-5.0, 0, true},
		{"0", 0, true},
		{"-5", 0, true},
		{"+5", 0, true},
		{json.Number("1.5"), 0, true},
		{1.5, 0, true},
		{"1.5", 0, true},
		{"12a", 0, true},
		{"", 0, true},
		{math.NaN(), 0, true},
		{-math.MaxFloat64, 0, true},
		{true, 0, true},
		{nil, 0, true},
	}
	for _, tt := range tests {
		got, err := ParseID(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseID(%#v) = %v, %v; wantErr %v", tt.in, got, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseID(%#v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
