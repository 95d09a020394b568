package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// maxPriceMajor bounds prices at 10^12 main units, whatever the currency.
	maxPriceMajor = 1_000_000_000_000
	// maxID is 2^53, the largest integer a JavaScript/PHP float holds exactly.
	maxID = 1 << 53
	// maxHeightCM bounds heights at 100 m; anything larger is a typo.
	maxHeightCM = 10_000
	// maxNumberText bounds the length of a textual number we try to read.
	maxNumberText = 64
)

// priceHint is appended to price errors so that a shop developer knows what
// is accepted.
const priceHint = `(expected e.g. "2 500 ₸" or 2500)`

// Price is an amount of money held exactly in minor units of its currency,
// as many decimal places as ISO 4217 gives it: hundredths for KZT, RUB, USD
// or UAH, whole units for JPY or KRW, thousandths for KWD or BHD.
type Price struct {
	Minor    int64  // amount in minor units: 250050 KZT is 2500.50 ₸, 2500 JPY is 2500 yen
	Currency string // ISO 4217 code such as "KZT"; "" counts as KZT
}

// Exponent is the number of decimal places of p's currency (2 for KZT).
func (p Price) Exponent() int { return exponentOf(p.Currency) }

// CurrencyCode is p's currency, with "" read as DefaultCurrency.
func (p Price) CurrencyCode() string {
	if p.Currency == "" {
		return DefaultCurrency
	}
	return p.Currency
}

func exponentOf(code string) int {
	if e, ok := iso4217[code]; ok {
		return e
	}
	return 2
}

// Major returns the amount in main units, e.g. 2500.5 for 250050 KZT.
// It is meant for display and arithmetic that tolerates float rounding.
func (p Price) Major() float64 { return float64(p.Minor) / float64(pow10(p.Exponent())) }

func pow10(n int) int64 {
	p := int64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

// maxMinor is 10^12 main units in minor units of a currency with exp decimals.
func maxMinor(exp int) int64 { return maxPriceMajor * pow10(exp) }

// currencySymbols maps an ISO code to the symbol FormatPrice writes; other
// currencies are written by their code.
var currencySymbols = map[string]string{
	"KZT": "₸",
	"RUB": "₽",
	"USD": "$",
	"EUR": "€",
}

// FormatPrice renders p the way the shop displays it: thousands separated by
// a plain space, a decimal comma only when there are kopecks/tiyn (as many
// digits as the currency has decimals), and the currency symbol or code last,
// e.g. "2 500 ₸", "2 500,50 ₸", "1,250 BHD" or "15 000 UAH". ParsePrice reads
// the result back to the same Price.
func FormatPrice(p Price) string {
	minor := p.Minor
	var b strings.Builder
	if minor < 0 {
		b.WriteByte('-')
		if minor == math.MinInt64 {
			// Cannot be negated; fall back to the plain digits.
			b.WriteString(strconv.FormatInt(minor, 10)[1:])
			b.WriteString(" " + symbolFor(p.Currency))
			return b.String()
		}
		minor = -minor
	}
	exp := p.Exponent()
	unit := pow10(exp)
	digits := strconv.FormatInt(minor/unit, 10)
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	if frac := minor % unit; frac != 0 {
		fmt.Fprintf(&b, ",%0*d", exp, frac)
	}
	b.WriteString(" " + symbolFor(p.Currency))
	return b.String()
}

// CurrencySign is how FormatPrice writes a currency: its symbol ("₸", "₽",
// "$", "€") or else its code ("UAH").
func CurrencySign(code string) string { return symbolFor(code) }

func symbolFor(code string) string {
	if s, ok := currencySymbols[code]; ok {
		return s
	}
	if code == "" {
		return currencySymbols[DefaultCurrency]
	}
	return code
}

// ParsePrice is ParsePriceIn with DefaultCurrency (KZT) for prices that name
// no currency.
func ParsePrice(v any) (Price, error) { return ParsePriceIn(v, DefaultCurrency) }

// ParsePriceIn reads a price as the shop sends it. v is a value produced by
// encoding/json (preferably with UseNumber): a string such as "2 500 ₸",
// "2 500,50 ₸", "2500 тг", "₸2,500", "2500.50", "1 234 567 ₸", "1500 UAH" or
// "1,250 BHD", or a number (json.Number, float64 or any Go integer
// type). Strings are read digit by digit, never through a float. A price
// that names no currency (every number, and strings without a symbol, word
// or ISO 4217 code) is in currency, which must be an ISO 4217 code.
//
// Thousands may be separated by ordinary, non-breaking (U+00A0), narrow
// no-break (U+202F) or thin (U+2009) spaces, by a comma followed by exactly
// three digits (for currencies with fewer than three decimals), or by
// whichever of comma and dot is not the decimal mark when both occur. A
// comma or dot followed by other digits is the decimal mark. Negative
// amounts, more decimal places than the currency has (trailing zeros
// aside: "2500.00 JPY" is 2500 yen) and amounts over 10^12 main units are
// errors.
func ParsePriceIn(v any, currency string) (Price, error) {
	if currency == "" {
		currency = DefaultCurrency
	}
	exp, ok := CurrencyExponent(currency)
	if !ok {
		return Price{}, fmt.Errorf("unknown currency %s (expected an ISO 4217 code such as KZT)", quoteShort(currency))
	}
	switch x := v.(type) {
	case nil:
		return Price{}, errors.New("price is missing " + priceHint)
	case string:
		return parsePriceString(x, currency)
	case json.Number:
		minor, err := numberToMinor(string(x), currency)
		if err != nil {
			return Price{}, err
		}
		return Price{Minor: minor, Currency: currency}, nil
	case float64:
		return priceFromFloat(x, 64, currency)
	case float32:
		return priceFromFloat(float64(x), 32, currency)
	}
	if n, ok := asInt64(v); ok {
		if n < 0 {
			return Price{}, fmt.Errorf("negative price %d", n)
		}
		if n > maxPriceMajor {
			return Price{}, fmt.Errorf("price %d is too large (over 10^12)", n)
		}
		return Price{Minor: n * pow10(exp), Currency: currency}, nil
	}
	if u, ok := asUint64(v); ok {
		if u > maxPriceMajor {
			return Price{}, fmt.Errorf("price %d is too large (over 10^12)", u)
		}
		return Price{Minor: int64(u) * pow10(exp), Currency: currency}, nil
	}
	return Price{}, fmt.Errorf("cannot parse %s as a price %s", describe(v), priceHint)
}

func priceFromFloat(f float64, bits int, currency string) (Price, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Price{}, fmt.Errorf("cannot parse %v as a price %s", f, priceHint)
	}
	if f < 0 {
		return Price{}, fmt.Errorf("negative price %v", f)
	}
	if f > maxPriceMajor {
		return Price{}, fmt.Errorf("price %v is too large (over 10^12)", f)
	}
	// The shortest decimal that round-trips is what the sender meant.
	minor, err := numberToMinor(strconv.FormatFloat(f, 'f', -1, bits), currency)
	if err != nil {
		return Price{}, err
	}
	return Price{Minor: minor, Currency: currency}, nil
}

// tooManyDecimals says that text has more decimal places than its currency.
func tooManyDecimals(text, currency string) error {
	exp := exponentOf(currency)
	if exp == 0 {
		return fmt.Errorf("price %s has decimal places, but %s has none", quoteShort(text), currency)
	}
	return fmt.Errorf("price %s has more than %d decimal places (%s has %d)", quoteShort(text), exp, currency, exp)
}

// numberToMinor converts text in JSON number syntax into minor units of
// currency exactly. Trailing zeros in the fraction are ignored, since a
// number's value is what matters ("2500.500" is 2500.5).
func numberToMinor(text, currency string) (int64, error) {
	n, ok := splitJSONNumber(text)
	if !ok {
		return 0, fmt.Errorf("cannot parse %s as a price %s", quoteShort(text), priceHint)
	}
	if n.neg && strings.Trim(n.intPart+n.frac, "0") != "" {
		return 0, fmt.Errorf("negative price %s", quoteShort(text))
	}
	digits := strings.TrimLeft(n.intPart+n.frac, "0")
	if digits == "" {
		return 0, nil
	}
	exp := exponentOf(currency)
	// value = digits × 10^(exp10-len(frac)); minor = value × 10^exp.
	shift := n.exp - len(n.frac) + exp
	for shift < 0 && strings.HasSuffix(digits, "0") {
		digits = digits[:len(digits)-1]
		shift++
	}
	if shift < 0 {
		return 0, tooManyDecimals(text, currency)
	}
	if len(digits)+shift > 13+exp { // 10^12 main units has 13+exp digits in minor units
		return 0, fmt.Errorf("price %s is too large (over 10^12)", quoteShort(text))
	}
	minor, err := strconv.ParseInt(digits+strings.Repeat("0", shift), 10, 64)
	if err != nil || minor > maxMinor(exp) {
		return 0, fmt.Errorf("price %s is too large (over 10^12)", quoteShort(text))
	}
	return minor, nil
}

func parsePriceString(raw, currency string) (Price, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return Price{}, errors.New("empty price " + priceHint)
	}
	if len(s) > maxNumberText {
		return Price{}, fmt.Errorf("cannot parse %s as a price %s", quoteShort(raw), priceHint)
	}
	code := currency
	if rest, c, ok := cutCurrency(s); ok {
		s, code = strings.TrimSpace(rest), c
	}
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "−") {
		return Price{}, fmt.Errorf("negative price %s", quoteShort(raw))
	}
	exp := exponentOf(code)
	intDigits, frac, err := splitLocaleNumber(s, exp)
	switch {
	case errors.Is(err, errTooManyDecimals):
		return Price{}, tooManyDecimals(raw, code)
	case err != nil:
		return Price{}, fmt.Errorf("cannot parse %s as a price %s", quoteShort(raw), priceHint)
	}
	for len(frac) > exp && strings.HasSuffix(frac, "0") {
		frac = frac[:len(frac)-1] // "2500,00 JPY" is 2500 yen
	}
	if len(frac) > exp {
		return Price{}, tooManyDecimals(raw, code)
	}
	intDigits = strings.TrimLeft(intDigits, "0")
	if len(intDigits) > 13 { // 10^12 has 13 digits
		return Price{}, fmt.Errorf("price %s is too large (over 10^12)", quoteShort(raw))
	}
	for len(frac) < exp {
		frac += "0"
	}
	if intDigits+frac == "" {
		return Price{Currency: code}, nil
	}
	minor, err := strconv.ParseInt(intDigits+frac, 10, 64)
	if err != nil || minor > maxMinor(exp) {
		return Price{}, fmt.Errorf("price %s is too large (over 10^12)", quoteShort(raw))
	}
	return Price{Minor: minor, Currency: code}, nil
}

var (
	errTooManyDecimals = errors.New("more decimal places than the currency has")
	errSyntax          = errors.New("not a number")
)

func isGroupSpace(r rune) bool {
	return r == ' ' || r == '\u00a0' || r == '\u202f' || r == '\u2009'
}

// splitLocaleNumber splits a human-written amount such as "1 234 567,50",
// "2,500" or "2.500,50" into its integer digits and its fraction digits,
// for a currency with exp decimal places. See ParsePriceIn for the rules.
func splitLocaleNumber(s string, exp int) (intDigits, frac string, err error) {
	var commas, dots, spaces int
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
		case r == ',':
			commas++
		case r == '.':
			dots++
		case isGroupSpace(r):
			spaces++
		default:
			return "", "", errSyntax
		}
	}
	// Decide which mark, if any, is the decimal one and which groups thousands.
	var decimal, thousands rune
	switch {
	case commas > 0 && dots > 0:
		if strings.LastIndexByte(s, ',') > strings.LastIndexByte(s, '.') {
			decimal, thousands = ',', '.'
		} else {
			decimal, thousands = '.', ','
		}
		if strings.Count(s, string(decimal)) != 1 {
			return "", "", errSyntax
		}
	case commas+dots == 1:
		mark := ','
		if dots == 1 {
			mark = '.'
		}
		after := len(s) - strings.IndexRune(s, mark) - 1
		switch {
		case after == 3 && exp < 3 && mark == ',' && spaces == 0:
			thousands = ','
		case after == 3 && exp < 3:
			// "2.500" or "2 500,505": thousands or decimals? Neither is safe.
			return "", "", errTooManyDecimals
		case after >= 1:
			decimal = mark
		default:
			return "", "", errSyntax
		}
	case commas > 1:
		thousands = ','
	case dots > 1:
		thousands = '.'
	}
	intPart := s
	if decimal != 0 {
		i := strings.IndexRune(s, decimal)
		intPart, frac = s[:i], s[i+1:]
		if !allDigits(frac) || frac == "" {
			return "", "", errSyntax
		}
	}
	if thousands != 0 && spaces > 0 {
		return "", "", errSyntax // mixing two grouping styles
	}
	isSep := isGroupSpace
	if thousands != 0 {
		isSep = func(r rune) bool { return r == thousands }
	}
	groups := strings.FieldsFunc(intPart, isSep)
	if len(groups) == 0 {
		return "", "", errSyntax
	}
	if len(groups) > 1 {
		// Separators must sit exactly between groups: "1 234", not "1  234".
		sepCount := 0
		for _, r := range intPart {
			if isSep(r) {
				sepCount++
			}
		}
		if sepCount != len(groups)-1 || isSep(firstRune(intPart)) || isSep(lastRune(intPart)) {
			return "", "", errSyntax
		}
		if len(groups[0]) > 3 {
			return "", "", errSyntax
		}
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return "", "", errSyntax
			}
		}
	} else if intPart != groups[0] {
		return "", "", errSyntax // a lone leading or trailing separator
	}
	for _, g := range groups {
		if !allDigits(g) {
			return "", "", errSyntax
		}
	}
	return strings.Join(groups, ""), frac, nil
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// jsonNumber is a number in JSON syntax split into its parts.
type jsonNumber struct {
	neg     bool
	intPart string
	frac    string
	exp     int
}

// splitJSONNumber parses text in strict JSON number syntax. Exponents beyond
// ±100 are refused: no price, height or id needs them.
func splitJSONNumber(s string) (jsonNumber, bool) {
	var n jsonNumber
	if len(s) > maxNumberText {
		return n, false
	}
	if strings.HasPrefix(s, "-") {
		n.neg, s = true, s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || (i > 1 && s[0] == '0') {
		return n, false
	}
	n.intPart, s = s[:i], s[i:]
	if strings.HasPrefix(s, ".") {
		i = 1
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 1 {
			return n, false
		}
		n.frac, s = s[1:i], s[i:]
	}
	if s != "" {
		if s[0] != 'e' && s[0] != 'E' {
			return n, false
		}
		e, sign := s[1:], 1
		if strings.HasPrefix(e, "+") {
			e = e[1:]
		} else if strings.HasPrefix(e, "-") {
			e, sign = e[1:], -1
		}
		if e == "" || len(e) > 4 || !allDigits(e) {
			return n, false
		}
		exp, _ := strconv.Atoi(e)
		exp *= sign
		if exp < -100 || exp > 100 {
			return n, false
		}
		n.exp = exp
	}
	return n, true
}

// ParseHeight reads a height and returns it in centimetres. Accepted forms:
// "60 см", "60cm", "60" (centimetres), "60.5 см", "0.6 м", "0,6 м", "1.2m",
// "600 мм", and numbers (centimetres). Negative values, garbage and heights
// over 100 m are errors; so is an empty string (ParseEvent treats an empty
// catalogHeight as absent).
func ParseHeight(v any) (float64, error) {
	switch x := v.(type) {
	case nil:
		return 0, errors.New("height is missing")
	case string:
		return parseHeightString(x)
	case json.Number:
		n, ok := splitJSONNumber(string(x))
		if !ok {
			return 0, fmt.Errorf("cannot parse %s as a height (expected e.g. \"60 см\" or 60)", quoteShort(string(x)))
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return checkHeight(f, n.neg, string(x))
	case float64:
		return checkFloatHeight(x)
	case float32:
		return checkFloatHeight(float64(x))
	}
	if n, ok := asInt64(v); ok {
		return checkHeight(float64(n), n < 0, strconv.FormatInt(n, 10))
	}
	if u, ok := asUint64(v); ok {
		return checkHeight(float64(u), false, strconv.FormatUint(u, 10))
	}
	return 0, fmt.Errorf("cannot parse %s as a height (expected e.g. \"60 см\" or 60)", describe(v))
}

func checkFloatHeight(f float64) (float64, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("cannot parse %v as a height (expected e.g. \"60 см\" or 60)", f)
	}
	return checkHeight(f, f < 0, strconv.FormatFloat(f, 'g', -1, 64))
}

func checkHeight(cm float64, neg bool, text string) (float64, error) {
	if neg && cm != 0 {
		return 0, fmt.Errorf("negative height %s", quoteShort(text))
	}
	if cm > maxHeightCM {
		return 0, fmt.Errorf("height %s is out of range (over 100 m)", quoteShort(text))
	}
	return math.Abs(cm), nil // turns -0 into 0
}

// heightUnits lists unit suffixes with the power of ten that converts them
// to centimetres; "мм" and "см" come before "м" because they end with it.
var heightUnits = []struct {
	unit string
	exp  int
}{
	{"мм", -1}, {"mm", -1}, {"см", 0}, {"cm", 0}, {"м", 2}, {"m", 2},
}

func parseHeightString(raw string) (float64, error) {
	bad := func() (float64, error) {
		return 0, fmt.Errorf("cannot parse %s as a height (expected e.g. \"60 см\", \"0.6 м\" or 60)", quoteShort(raw))
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		return 0, errors.New("empty height")
	}
	if len(s) > maxNumberText {
		return bad()
	}
	exp := 0
units:
	for _, u := range heightUnits {
		for _, unit := range []string{u.unit + ".", u.unit} { // "60 см." too
			if n := len(unit); len(s) >= n && strings.EqualFold(s[len(s)-n:], unit) {
				s, exp = strings.TrimSpace(s[:len(s)-n]), u.exp
				break units
			}
		}
	}
	neg := false
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "−") {
		neg = true
		s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "−")
	}
	intPart, frac := s, ""
	if i := strings.IndexAny(s, ".,"); i >= 0 {
		intPart, frac = s[:i], s[i+1:]
		if frac == "" {
			return bad()
		}
	}
	if intPart == "" || !allDigits(intPart) || !allDigits(frac) {
		return bad()
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return 0, nil
	}
	if neg {
		return 0, fmt.Errorf("negative height %s", quoteShort(raw))
	}
	cm, err := strconv.ParseFloat(digits+"e"+strconv.Itoa(exp-len(frac)), 64)
	if err != nil {
		return bad()
	}
	return checkHeight(cm, false, raw)
}

// ParseBool reads a flag such as isAvailable: true/false, "Y"/"N", "y"/"n",
// "true"/"false", "1"/"0", or the numbers 1/0.
func ParseBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch s := strings.TrimSpace(x); {
		case s == "Y" || s == "y" || s == "1" || strings.EqualFold(s, "true"):
			return true, nil
		case s == "N" || s == "n" || s == "0" || strings.EqualFold(s, "false"):
			return false, nil
		}
	case json.Number:
		switch x {
		case "1":
			return true, nil
		case "0":
			return false, nil
		}
	case float64:
		switch x {
		case 1:
			return true, nil
		case 0:
			return false, nil
		}
	default:
		if n, ok := asInt64(v); ok && (n == 0 || n == 1) {
			return n == 1, nil
		}
		if u, ok := asUint64(v); ok && (u == 0 || u == 1) {
			return u == 1, nil
		}
	}
	return false, fmt.Errorf(`cannot parse %s as a boolean (expected true/false, "Y"/"N" or 1/0)`, describe(v))
}

// ParseID reads a shop id (and a product id sent as a number, see
// ParseProductID): a positive integer up to 2^53, given as
// a JSON number or a numeric string such as "888888".
func ParseID(v any) (int64, error) {
	bad := func() (int64, error) {
		return 0, fmt.Errorf("cannot parse %s as an id (expected a positive integer such as 888888)", describe(v))
	}
	var n int64
	switch x := v.(type) {
	case nil:
		return 0, errors.New("id is missing")
	case string:
		s := strings.TrimSpace(x)
		if s == "" || len(s) > 20 || !allDigits(s) {
			return bad()
		}
		var err error
		if n, err = strconv.ParseInt(s, 10, 64); err != nil {
			return 0, fmt.Errorf("id %s is out of range (at most 2^53)", quoteShort(x))
		}
	case json.Number:
		num, ok := splitJSONNumber(string(x))
		if !ok {
			return bad()
		}
		if num.frac == "" && num.exp == 0 {
			var err error
			if n, err = strconv.ParseInt(string(x), 10, 64); err != nil {
				return 0, fmt.Errorf("id %s is out of range (at most 2^53)", string(x))
			}
			break
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return idFromFloat(f, string(x))
	case float64:
		return idFromFloat(x, strconv.FormatFloat(x, 'g', -1, 64))
	case float32:
		return idFromFloat(float64(x), strconv.FormatFloat(float64(x), 'g', -1, 32))
	default:
		if i, ok := asInt64(v); ok {
			n = i
			break
		}
		if u, ok := asUint64(v); ok {
			if u > maxID {
				return 0, fmt.Errorf("id %d is out of range (at most 2^53)", u)
			}
			n = int64(u)
			break
		}
		return bad()
	}
	return checkID(n)
}

func idFromFloat(f float64, text string) (int64, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
		return 0, fmt.Errorf("cannot parse %s as an id (expected a positive integer such as 888888)", text)
	}
	if f < 1 {
		return 0, fmt.Errorf("id must be a positive integer, got %s", text)
	}
	if f > maxID {
		return 0, fmt.Errorf("id %s is out of range (at most 2^53)", text)
	}
	return checkID(int64(f))
}

func checkID(n int64) (int64, error) {
	if n <= 0 {
		return 0, fmt.Errorf("id must be a positive integer, got %d", n)
	}
	if n > maxID {
		return 0, fmt.Errorf("id %d is out of range (at most 2^53)", n)
	}
	return n, nil
}

func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

func asUint64(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint:
		return uint64(x), true
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case uintptr:
		return uint64(x), true
	}
	return 0, false
}

// describe renders a decoded JSON value for an error message.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return quoteShort(x)
	case json.Number:
		if _, ok := splitJSONNumber(string(x)); ok {
			return string(x)
		}
		return quoteShort(string(x))
	case bool:
		return strconv.FormatBool(x)
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case float64, float32:
		return fmt.Sprint(x)
	}
	if n, ok := asInt64(v); ok {
		return strconv.FormatInt(n, 10)
	}
	if u, ok := asUint64(v); ok {
		return strconv.FormatUint(u, 10)
	}
	return fmt.Sprintf("a %T", v)
}

// quoteShort quotes s for an error message, shortening it past 40 runes.
func quoteShort(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) <= max {
		return strconv.Quote(s)
	}
	n := 0
	for i := range s {
		if n == max {
			return strconv.Quote(s[:i]) + "…"
		}
		n++
	}
	return strconv.Quote(s)
}
