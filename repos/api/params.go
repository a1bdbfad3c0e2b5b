package api

import (
	"strconv"

	"github.com/depot/depot/auth/apierr"
)

func intParam(v, name string, def, lo, hi int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, apierr.Errorf(apierr.Invalid, "%s: must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}
