package apierr

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// MaxBodyBytes bounds every JSON request body.
const MaxBodyBytes = 64 << 10

// DecodeJSON reads r's body into v. It answers 415 when the body is not
// declared as application/json, 413 when it is larger than MaxBodyBytes,
// and 400 naming the field when it is not valid JSON for v. Unknown fields
// are ignored, as clients written against other servers send them.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return Errorf(UnsupportedMediaType, "request body must be sent with Content-Type: application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return Errorf(Invalid, "request body must hold a single JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(Invalid, "request body must hold a single JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var (
		tooBig  *http.MaxBytesError
		typeErr *json.UnmarshalTypeError
		syntax  *json.SyntaxError
	)
	switch {
	case errors.As(err, &tooBig):
		return Errorf(TooLarge, "request body is larger than %d bytes", tooBig.Limit)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return Errorf(Invalid, "request body must be a JSON object")
		}
		return Errorf(Invalid, "%s: must be %s", field, jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntax):
		return Errorf(Invalid, "request body is not valid JSON (offset %d)", syntax.Offset)
	case errors.Is(err, io.EOF):
		return Errorf(Invalid, "request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(Invalid, "request body is truncated JSON")
	}
	return Wrap(Invalid, err, fmt.Sprintf("request body: %s", strings.TrimPrefix(err.Error(), "json: ")))
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "bool":
		return "true or false"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a number"
}

// IntParam reads the query parameter name from its text v: def when v is
// empty, a 400 naming the parameter when v is not a whole number from lo
// to hi.
func IntParam(v, name string, def, lo, hi int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, Errorf(Invalid, "%s: must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}
