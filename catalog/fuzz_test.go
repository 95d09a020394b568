package catalog

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"unicode/utf8"
)

func checkPrice(t *testing.T, in any, p Price) {
	t.Helper()
	if p.Minor < 0 || p.Minor > maxMinor(p.Exponent()) {
		t.Fatalf("ParsePrice(%#v) = %+v: out of range", in, p)
	}
	if _, ok := CurrencyExponent(p.Currency); !ok {
		t.Fatalf("ParsePrice(%#v) = %+v: unknown currency", in, p)
	}
	s := FormatPrice(p)
	back, err := ParsePrice(s)
	if err != nil {
		t.Fatalf("ParsePrice(FormatPrice(%+v) = %q): %v", p, s, err)
	}
	if back != p {
		t.Fatalf("ParsePrice(FormatPrice(%+v) = %q) = %+v", p, s, back)
	}
}

func FuzzParsePrice(f *testing.F) {
	for _, s := range []string{
		"2 500 ₸", "2 500,50 ₸", "2500 тг", "₸2,500", "2,5", "2500.50", "1 234 567 ₸",
		"2\u00a0500", "2\u202f500", "1\u2009000", "$2,500.75", "2.500,75 €", "990 руб.",
		"-5", "2500.505", "1e3", "", "abc", "0", "1 000 000 000 000", "1000000000000.01",
		"2.5e3", "012", "-0", "1E-2", "1500 JPY", "1,250 BHD", "2 000,5 UAH", "KWD 1.5", "1,2345 CLF",
		"100 ₴", "5 000 сом", "2500,00 JPY",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := ParsePrice(s); err == nil {
			checkPrice(t, s, p)
		} else if err.Error() == "" {
			t.Fatal("empty error message")
		}
		if p, err := ParsePrice(json.Number(s)); err == nil {
			checkPrice(t, json.Number(s), p)
		}
	})
}

func FuzzParseHeight(f *testing.F) {
	for _, s := range []string{
		"60 см", "60cm", "60", "0.6 м", "0,6 м", "600 мм", "60.5 см", "1.2m", "60 см.",
		"-1", "", "abc", "1e3", "100 m", "0.0001 мм",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, in := range []any{s, json.Number(s)} {
			cm, err := ParseHeight(in)
			if err != nil {
				continue
			}
			if math.IsNaN(cm) || cm < 0 || cm > maxHeightCM || math.Signbit(cm) {
				t.Fatalf("ParseHeight(%#v) = %v: out of range", in, cm)
			}
		}
	})
}

func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{
		`{"event_type":"product.created","shop_id":8,"product_data":{"id":888888,"title":"Розы","price":"2 500 ₸","isAvailable":true,"image":"https://cvety.kz/upload/a.jpg","catalogHeight":"60 см","x":[1,{"y":null}]}}`,
		`{"event_type":"product.updated","product_data":{"id":"42","price":2500.5,"isAvailable":"N","catalogHeight":""}}`,
		`{"event_type":"product.deleted","shop_id":"3","product_data":{"id":7}}`,
		`{"event_type":"product.updated","product_data":{"id":7,"title":null,"price":null}}`,
		`{"event_type":"product.moved","product_data":{"id":1}}`,
		`{"event_type":"product.created","product_data":{"id":1.5}}`,
		`[1,2]`, `null`, ``, `{} x`, `{"event_type":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseEvent(body)
		if err != nil {
			malformed, invalid := errors.Is(err, ErrMalformed), errors.Is(err, ErrInvalid)
			if malformed == invalid {
				t.Fatalf("error %q: ErrMalformed=%v ErrInvalid=%v", err, malformed, invalid)
			}
			var fe *FieldError
			if invalid && (!errors.As(err, &fe) || fe.Field == "" || fe.Msg == "") {
				t.Fatalf("invalid error %q is not a complete *FieldError", err)
			}
			return
		}
		switch ev.Type {
		case EventCreated, EventUpdated, EventDeleted:
		default:
			t.Fatalf("bad event type %q", ev.Type)
		}
		if ev.ShopID < 0 || ev.ShopID > maxID {
			t.Fatalf("shop id %d out of range", ev.ShopID)
		}
		p := ev.Product
		if id, err := ParseProductIDText(string(p.ID)); err != nil || id != p.ID {
			t.Fatalf("id %q is not canonical: %q, %v", p.ID, id, err)
		}
		if (p.Price == nil) != (p.PriceRaw == nil) || (p.HeightCM == nil) != (p.HeightRaw == nil) {
			t.Fatalf("parsed and raw fields disagree: %+v", p)
		}
		if p.Price != nil {
			checkPrice(t, *p.PriceRaw, *p.Price)
		}
		if p.HeightCM != nil && (math.IsNaN(*p.HeightCM) || *p.HeightCM < 0 || *p.HeightCM > maxHeightCM) {
			t.Fatalf("height %v out of range", *p.HeightCM)
		}
		if p.Title != nil && utf8.RuneCountInString(*p.Title) > maxTitleRunes {
			t.Fatalf("title too long")
		}
		if p.Image != nil && len(*p.Image) > maxImageURL {
			t.Fatalf("image URL too long")
		}
		for k, v := range p.Extra {
			if !json.Valid(v) {
				t.Fatalf("Extra[%q] = %q is not valid JSON", k, v)
			}
		}
	})
}
