package tokens

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/depot/depot/auth/input"
)

// TestNormalizeIPWhitelist: a whitelist is read the one way that
// matching reads it (auth.ParseWhitelistEntry) and kept in canonical
// form, whoever stores it: the API, the CLI or a test.
func TestNormalizeIPWhitelist(t *testing.T) {
	hundred := make([]string, MaxIPWhitelist+1)
	for i := range hundred {
		hundred[i] = fmt.Sprintf("10.0.0.%d", i)
	}
	for _, tt := range []struct {
		name string
		in   []string
		want []string
		msg  string // the *input.ValidationError's, when in is refused
	}{
		{"Empty", nil, []string{}, ""},
		{"Canonical", []string{"10.0.0.0/8", "2001:db8::1"}, []string{"10.0.0.0/8", "2001:db8::1"}, ""},
		{"Trimmed", []string{" 127.0.0.1 "}, []string{"127.0.0.1"}, ""},
		{"Masked", []string{"10.1.2.3/8"}, []string{"10.0.0.0/8"}, ""},
		{"SingleRangeIsAddress", []string{"192.0.2.7/32"}, []string{"192.0.2.7"}, ""},
		{"V4MappedAddressIsV4", []string{"::ffff:1.2.3.4"}, []string{"1.2.3.4"}, ""},
		{"DuplicatesDropped", []string{"10.0.0.0/8", "10.9.9.9/8", "127.0.0.1", " 127.0.0.1"}, []string{"10.0.0.0/8", "127.0.0.1"}, ""},
		{"Longest", hundred[:MaxIPWhitelist], hundred[:MaxIPWhitelist], ""},
		{"ErrTooMany", hundred, nil, "ipWhitelist: more than 100 entries"},
		{"ErrHost", []string{"example.com"}, nil, `ipWhitelist: "example.com" is not an IP address or CIDR range`},
		{"ErrOctet", []string{"10.0.0.300"}, nil, `ipWhitelist: "10.0.0.300" is not an IP address or CIDR range`},
		{"ErrPrefixLength", []string{"1.2.3.4/33"}, nil, `ipWhitelist: "1.2.3.4/33" is not an IP address or CIDR range`},
		{"ErrZone", []string{"fe80::1%eth0"}, nil, `ipWhitelist: "fe80::1%eth0" is not an IP address or CIDR range`},
		{"ErrBlank", []string{" "}, nil, `ipWhitelist: "" is not an IP address or CIDR range`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeIPWhitelist(tt.in)
			if tt.msg != "" {
				var ve *input.ValidationError
				if !errors.As(err, &ve) || err.Error() != tt.msg {
					t.Fatalf("NormalizeIPWhitelist(%q) = %v, %v; want the ValidationError %q", tt.in, got, err, tt.msg)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) || got == nil {
				t.Fatalf("NormalizeIPWhitelist(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestCheckSort(t *testing.T) {
	for _, key := range append([]string{""}, SortKeys()...) {
		if err := CheckSort(key); err != nil {
			t.Errorf("CheckSort(%q) = %v; want nil", key, err)
		}
	}
	const want = "sort: must be one of username, audience, issuedAt, expireTime, lastAccessTime"
	for _, key := range []string{"id", "seq", "Username", "issued_at"} {
		if err := CheckSort(key); err == nil || err.Error() != want || !errors.Is(err, input.ErrInvalid) {
			t.Errorf("CheckSort(%q) = %v; want %q", key, err, want)
		}
	}
}
