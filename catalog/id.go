package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxProductIDLen is the longest product id accepted, in bytes (= characters:
// ids are ASCII).
const MaxProductIDLen = 64

// ProductID is a product's id as the shop knows it: Bitrix element ids
// (888888), Yandex YML offer ids ("AB12cd"), 1C codes ("00000085340_1").
// It is kept as its canonical text: 1 to 64 of A-Z a-z 0-9 . _ -, where a
// number sent as a JSON number (888888, 888888.0, 8.88888e5) becomes its
// decimal digits, so that 888888 and "888888" name the same product while
// "007" and 7 do not.
//
// In JSON it is written as a number when it is a canonical positive decimal
// integer a JSON number holds exactly (no sign, no leading zero, at most
// 2^53), otherwise as a string: the replies for numeric ids are what they
// always were.
type ProductID string

// String returns the id's text.
func (id ProductID) String() string { return string(id) }

// Number returns the id as an integer when it is written as a JSON number.
func (id ProductID) Number() (int64, bool) {
	s := string(id)
	if s == "" || len(s) > 16 || s[0] == '0' || !allDigits(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxID {
		return 0, false
	}
	return n, true
}

// MarshalJSON writes a numeric id as a JSON number, any other as a string.
func (id ProductID) MarshalJSON() ([]byte, error) {
	if _, ok := id.Number(); ok {
		return []byte(id), nil
	}
	return json.Marshal(string(id))
}

// UnmarshalJSON reads an id sent as a JSON number or string, with
// ParseProductID's rules.
func (id *ProductID) UnmarshalJSON(b []byte) error {
	v, err := decodeValue(b)
	if err != nil {
		return err
	}
	p, err := ParseProductID(v)
	if err != nil {
		return err
	}
	*id = p
	return nil
}

// ProductIDOf returns the id of a numeric element id n (n > 0).
func ProductIDOf(n int64) ProductID { return ProductID(strconv.FormatInt(n, 10)) }

// ParseProductID reads a product id from a decoded JSON value (or a Go
// integer): a JSON number must be a positive integer up to 2^53, as shop ids
// are; a string is trimmed of surrounding white space and must be 1 to 64
// letters, digits, '.', '_' or '-'. A string of digits of value zero ("0",
// "000") is refused like the number 0, and "." and ".." like every id that
// cannot stand in a URL path.
func ParseProductID(v any) (ProductID, error) {
	s, ok := v.(string)
	if !ok {
		n, err := ParseID(v)
		if err != nil {
			return "", err
		}
		return ProductIDOf(n), nil
	}
	return ParseProductIDText(s)
}

// ParseProductIDText reads a product id written as text: a URL path
// segment, a query parameter, a feed's id attribute or column.
func ParseProductIDText(s string) (ProductID, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", errors.New("id is empty")
	case len(s) > MaxProductIDLen:
		return "", fmt.Errorf("id %s is too long (%d characters, at most %d)", quoteShort(s), len(s), MaxProductIDLen)
	case s == "." || s == "..":
		return "", fmt.Errorf("id %q cannot be used (it is not a name in a URL path)", s)
	}
	for _, r := range s {
		if !idChar(r) {
			return "", fmt.Errorf("id %s contains %s, which is not allowed (use letters A-Z a-z, digits, '.', '_' or '-', at most %d)",
				quoteShort(s), strconv.QuoteRune(r), MaxProductIDLen)
		}
	}
	if allDigits(s) && strings.Trim(s, "0") == "" {
		return "", fmt.Errorf("id must be a positive integer or a code with letters, got %q", s)
	}
	return ProductID(s), nil
}

func idChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}
