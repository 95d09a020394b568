package api

import (
	"net/http"
	"slices"
	"strings"
)

// corsPath reports whether a path is one of the public search endpoints a
// shop's own site may call from its pages (the widget): search, what search
// can do, and the product photos of the results. Everything else stays
// same-origin: a browser gets no CORS headers for it.
func corsPath(p string) bool {
	return p == "/api/v1/search" || p == "/api/v1/search/info" || strings.HasPrefix(p, "/images/")
}

// cors answers a CORS request to the public search endpoints from an origin
// the operator listed (LOOKALIKE_ALLOWED_ORIGINS): the origin is echoed,
// never "*", and a preflight (OPTIONS with Access-Control-Request-Method) is
// answered here with the methods and headers search takes. An unlisted
// origin gets no CORS headers (so the browser refuses the reply) and its
// preflight a 403. It reports whether it has answered the request.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	if !corsPath(r.URL.Path) {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin") // the reply differs by Origin, also for caches in between
	origin := r.Header.Get("Origin")
	allowed := origin != "" && slices.Contains(s.cfg.AllowedOrigins, origin)
	if allowed {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "Retry-After, X-Request-Id")
	}
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	if !allowed {
		s.fail(w, r, errorf(http.StatusForbidden, "origin %q is not allowed to call %s from a browser: list it in LOOKALIKE_ALLOWED_ORIGINS", origin, r.URL.Path))
		return true
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}
