package catalog

import "strings"

// iso4217 is the ISO 4217 list one (current currency and funds codes) with
// each code's minor unit: the number of decimal places its amounts have.
// Codes the standard gives no minor unit ("N.A.": gold, silver, platinum,
// palladium, the SDR, the bond-market units, XSU, XUA, the test code XTS and
// XXX, "no currency") are left out: no shop prices goods in them.
var iso4217 = map[string]int{
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2, "AZN": 2,
	"BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2, "BOB": 2, "BOV": 2,
	"BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2,
	"CAD": 2, "CDF": 2, "CHE": 2, "CHF": 2, "CHW": 2, "CLF": 4, "CLP": 0, "CNY": 2, "COP": 2, "COU": 2,
	"CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2,
	"DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2,
	"EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2,
	"FJD": 2, "FKP": 2,
	"GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2, "GNF": 0, "GTQ": 2, "GYD": 2,
	"HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2,
	"IDR": 2, "ILS": 2, "INR": 2, "IQD": 3, "IRR": 2, "ISK": 0,
	"JMD": 2, "JOD": 3, "JPY": 0,
	"KES": 2, "KGS": 2, "KHR": 2, "KMF": 0, "KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2,
	"LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "LYD": 3,
	"MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2,
	"MWK": 2, "MXN": 2, "MXV": 2, "MYR": 2, "MZN": 2,
	"NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2,
	"OMR": 3,
	"PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0,
	"QAR": 2,
	"RON": 2, "RSD": 2, "RUB": 2, "RWF": 0,
	"SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2, "SLL": 2, "SOS": 2,
	"SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2,
	"THB": 2, "TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2,
	"UAH": 2, "UGX": 0, "USD": 2, "USN": 2, "UYI": 0, "UYU": 2, "UYW": 4, "UZS": 2,
	"VED": 2, "VES": 2, "VND": 0, "VUV": 0,
	"WST": 2,
	"XAF": 0, "XCD": 2, "XCG": 2, "XOF": 0, "XPF": 0,
	"YER": 2,
	"ZAR": 2, "ZMW": 2, "ZWG": 2,
}

// currencyAliases are codes that are not (or no longer) in list one but
// that feeds still write: YML's RUR for the rouble.
var currencyAliases = map[string]string{"RUR": "RUB"}

// DefaultCurrency is the currency of a price that names none, unless the
// caller says otherwise (ParsePriceIn, EventOptions).
const DefaultCurrency = "KZT"

// CurrencyExponent returns the number of decimal places of an ISO 4217
// code's amounts (KZT 2, JPY 0, KWD 3, CLF 4), and whether the code is a
// currency lookalike knows.
func CurrencyExponent(code string) (int, bool) {
	e, ok := iso4217[code]
	return e, ok
}

// NormalizeCurrency reads a currency as shops write it: an ISO 4217 code in
// any case ("kzt", "UAH"), RUR, or one of the symbols and words of
// currencyMarkers ("₸", "тг", "₽", "руб.", "$", "₴", "грн"…). It returns the
// ISO code.
func NormalizeCurrency(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if code, ok := isoCode(s); ok {
		return code, true
	}
	for _, m := range currencyMarkers {
		if strings.EqualFold(s, m.marker) {
			return m.code, true
		}
	}
	return "", false
}

// isoCode reads a three-letter code (or alias) in any case.
func isoCode(s string) (string, bool) {
	if len(s) != 3 {
		return "", false
	}
	up := strings.ToUpper(s)
	if a, ok := currencyAliases[up]; ok {
		return a, true
	}
	_, ok := iso4217[up]
	return up, ok
}

// currencyMarkers lists the symbols and words accepted before or after a
// price, besides the ISO codes, longest first where one is a suffix of
// another. Matching ignores case.
var currencyMarkers = []struct{ marker, code string }{
	{"тенге", "KZT"}, {"тг.", "KZT"}, {"тг", "KZT"}, {"₸", "KZT"},
	{"руб.", "RUB"}, {"руб", "RUB"}, {"₽", "RUB"},
	{"$", "USD"}, {"€", "EUR"}, {"£", "GBP"},
	{"грн.", "UAH"}, {"грн", "UAH"}, {"₴", "UAH"},
	{"₾", "GEL"}, {"֏", "AMD"}, {"₼", "AZN"}, {"сом", "KGS"}, {"сўм", "UZS"}, {"сум", "UZS"},
	{"₩", "KRW"}, {"₹", "INR"}, {"₺", "TRY"}, {"zł", "PLN"},
}

// cutCurrency removes one currency marker, a symbol, word or ISO code,
// from the end or, failing that, the start of s.
func cutCurrency(s string) (rest, code string, ok bool) {
	for _, m := range currencyMarkers {
		if n := len(m.marker); len(s) >= n && strings.EqualFold(s[len(s)-n:], m.marker) {
			return s[:len(s)-n], m.code, true
		}
	}
	if n := len(s); n >= 3 {
		if c, ok := isoCode(s[n-3:]); ok {
			return s[:n-3], c, true
		}
	}
	for _, m := range currencyMarkers {
		if n := len(m.marker); len(s) >= n && strings.EqualFold(s[:n], m.marker) {
			return s[n:], m.code, true
		}
	}
	if len(s) >= 3 {
		if c, ok := isoCode(s[:3]); ok {
			return s[3:], c, true
		}
	}
	return s, "", false
}

// OddExponents returns the currencies whose amounts do not have two
// decimals, with their number of decimals (JPY 0, KWD 3, CLF 4…): the table
// that clients formatting prices (the web pages, the Bitrix handler) carry.
func OddExponents() map[string]int {
	odd := map[string]int{}
	for code, exp := range iso4217 {
		if exp != 2 {
			odd[code] = exp
		}
	}
	return odd
}
