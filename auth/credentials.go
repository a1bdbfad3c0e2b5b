package auth

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
)

// Credentials are what a request's Authorization header carries.
type Credentials struct {
	Username string // Basic only
	Secret   string // password or token
	Bearer   bool
}

// maxAuthHeader bounds the Authorization header we are willing to decode.
const maxAuthHeader = 4096

var errMalformedAuth = errors.New("malformed Authorization header")

// ParseAuthorization reads r's Authorization header. It returns ok false
// when the header is absent, and an error when it is present but not a
// well-formed Basic or Bearer credential.
func ParseAuthorization(r *http.Request) (c Credentials, ok bool, err error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return Credentials{}, false, nil
	}
	if len(h) > maxAuthHeader {
		return Credentials{}, true, errMalformedAuth
	}
	scheme, rest, _ := strings.Cut(h, " ")
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return Credentials{}, true, errMalformedAuth
		}
		user, secret, found := strings.Cut(string(raw), ":")
		if !found || user == "" {
			return Credentials{}, true, errMalformedAuth
		}
		return Credentials{Username: user, Secret: secret}, true, nil
	case strings.EqualFold(scheme, "Bearer"), strings.EqualFold(scheme, "token"):
		// "token" is GitHub's spelling; scripts written for it work here.
		if rest == "" || strings.ContainsAny(rest, " \t") {
			return Credentials{}, true, errMalformedAuth
		}
		return Credentials{Secret: rest, Bearer: true}, true, nil
	}
	return Credentials{}, true, errMalformedAuth
}
