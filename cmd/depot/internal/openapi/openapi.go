// Package openapi serves depot's API description: the OpenAPI 3.0
// document openapi.json, embedded in the binary and answered at
// GET /api/openapi.json to anyone. docs/api.md is the same reference in
// prose; cmd/depot's route test keeps both in step with the routes that
// the server registers.
package openapi

import (
	_ "embed"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"
)

// Path is where the document is served.
const Path = "/api/openapi.json"

//go:embed openapi.json
var document []byte

// Document returns the OpenAPI document. The caller must not modify it.
func Document() []byte { return document }

// Surface serves the document; it looks at no credentials, so it belongs
// with the server's public surfaces.
type Surface struct{}

// Register adds GET Path to r.
func (Surface) Register(r *mux.Router) {
	r.HandleFunc(Path, serve).Methods(http.MethodGet)
}

func serve(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(document)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(document) // a failed write means the client left
}
