package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/fetch"
	"github.com/lookalike/lookalike/imagedecode"
)

// Error is an error with the HTTP status it should be answered with and a
// message for the person reading the reply.
type Error struct {
	Status int
	Msg    string
	Err    error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// Kinds of failure that handlers return, beside the packages' own.
var (
	errUnauthorized  = errors.New("unauthorized")
	errForbidden     = errors.New("forbidden")
	errTooLarge      = errors.New("request body too large")
	errNotConfigured = errors.New("not configured")
)

// statusTable maps error kinds to HTTP status codes; the first match wins.
var statusTable = []struct {
	kind   error
	status int
}{
	{catalog.ErrMalformed, http.StatusBadRequest},
	{catalog.ErrInvalid, http.StatusUnprocessableEntity},
	{catalog.ErrNotFound, http.StatusNotFound},
	{catalog.ErrStorageCorrupt, http.StatusServiceUnavailable},
	{catalog.ErrStorageFull, http.StatusServiceUnavailable},
	{errUnauthorized, http.StatusUnauthorized},
	{errForbidden, http.StatusForbidden},
	{errTooLarge, http.StatusRequestEntityTooLarge},
	{errNotConfigured, http.StatusServiceUnavailable},
	{imagedecode.ErrTooLarge, http.StatusRequestEntityTooLarge},
	{imagedecode.ErrNotImage, http.StatusUnprocessableEntity},
	{imagedecode.ErrCorrupt, http.StatusUnprocessableEntity},
	{imagedecode.ErrUnsupported, http.StatusUnprocessableEntity},
	{imagedecode.ErrTimeout, http.StatusUnprocessableEntity},
	{imagedecode.ErrBusy, http.StatusServiceUnavailable},
	{context.DeadlineExceeded, http.StatusGatewayTimeout},
}

// statusOf returns the HTTP status for err.
func statusOf(err error) int {
	var ae *Error
	if errors.As(err, &ae) && ae.Status != 0 {
		return ae.Status
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	var fe *fetch.Error
	if errors.As(err, &fe) {
		switch fe.Kind {
		case fetch.KindBlocked, fetch.KindBadURL:
			return http.StatusUnprocessableEntity
		case fetch.KindTooLarge:
			return http.StatusRequestEntityTooLarge
		default:
			return http.StatusBadGateway
		}
	}
	for _, row := range statusTable {
		if errors.Is(err, row.kind) {
			return row.status
		}
	}
	return http.StatusInternalServerError
}
