package tokens

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/depot/depot/auth/input"
)

func TestCreateUser(t *testing.T) {
	s := mustOpen(t)
	c := withClock(s)
	ctx := context.Background()
	mustCreateUser(t, s, "tester")

	for _, tt := range []struct {
		name     string
		user     User
		password string
		want     error  // nil for success
		field    string // named by the *ValidationError
	}{
		{name: "OK", user: User{GlobalKey: "alice", Email: "alice@example.com"}, password: "pw"},
		{name: "OKAdmin", user: User{GlobalKey: "root.admin-1_x", Name: "Root", Admin: true}, password: "pw"},
		{name: "OKLongest", user: User{GlobalKey: strings.Repeat("a", 39)}, password: "pw"},
		{name: "ErrExists", user: User{GlobalKey: "tester"}, password: "pw", want: ErrExists},
		{name: "ErrExistsOtherCase", user: User{GlobalKey: "Tester"}, password: "pw", want: ErrExists},
		{name: "ErrGlobalKeyRequired", user: User{}, password: "pw", want: input.ErrInvalid, field: "global_key"},
		{name: "ErrGlobalKeyTooLong", user: User{GlobalKey: strings.Repeat("a", 40)}, password: "pw", want: input.ErrInvalid, field: "global_key"},
		{name: "ErrGlobalKeyLeadingDash", user: User{GlobalKey: "-tester"}, password: "pw", want: input.ErrInvalid, field: "global_key"},
		{name: "ErrGlobalKeyLeadingDot", user: User{GlobalKey: ".tester"}, password: "pw", want: input.ErrInvalid, field: "global_key"},
		{name: "ErrGlobalKeySpace", user: User{GlobalKey: "te ster"}, password: "pw", want: input.ErrInvalid, field: "global_key"},
		{name: "ErrGlobalKeySlash", user: User{GlobalKey: "te/ster"}, password: "pw", want: input.ErrInvalid, field: "global_key"},
		{name: "ErrGlobalKeyPercent", user: User{GlobalKey: "te%ster"}, password: "pw", want: input.ErrInvalid, field: "global_key"},
		{name: "ErrGlobalKeyNonASCII", user: User{GlobalKey: "tëster"}, password: "pw", want: input.ErrInvalid, field: "global_key"},
		{name: "ErrGlobalKeyDotDot", user: User{GlobalKey: "a..b"}, password: "pw", want: input.ErrInvalid, field: "global_key"},
		{name: "ErrGlobalKeyReserved", user: User{GlobalKey: "api"}, password: "pw", want: input.ErrInvalid, field: "global_key"},
		{name: "ErrGlobalKeyReservedOtherCase", user: User{GlobalKey: "Login"}, password: "pw", want: input.ErrInvalid, field: "global_key"},
		{name: "ErrEmail", user: User{GlobalKey: "bob", Email: "bob"}, password: "pw", want: input.ErrInvalid, field: "email"},
		{name: "ErrNameTooLong", user: User{GlobalKey: "bob", Name: strings.Repeat("n", 101)}, password: "pw", want: input.ErrInvalid, field: "name"},
		{name: "ErrPasswordRequired", user: User{GlobalKey: "bob"}, want: input.ErrInvalid, field: "password"},
		{name: "ErrPasswordTooLong", user: User{GlobalKey: "bob"}, password: strings.Repeat("p", 73), want: input.ErrInvalid, field: "password"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.user
			err := s.CreateUser(ctx, &u, tt.password)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("CreateUser(%+v) = %v; want %v", tt.user, err, tt.want)
			}
			if tt.field != "" {
				var ve *input.ValidationError
				if !errors.As(err, &ve) || ve.Field != tt.field {
					t.Errorf("CreateUser(%+v) = %v; want a ValidationError of field %s", tt.user, err, tt.field)
				}
			}
			if err != nil {
				return
			}
			if u.ID == 0 || !u.CreatedAt.Equal(c.Now()) {
				t.Errorf("CreateUser set ID=%d CreatedAt=%v; want an id and %v", u.ID, u.CreatedAt, c.Now())
			}
			got, err := s.UserByName(ctx, u.GlobalKey)
			if err != nil {
				t.Fatal(err)
			}
			want := u
			if want.Name == "" {
				want.Name = want.GlobalKey
			}
			if *got != want {
				t.Errorf("UserByName = %+v; want %+v", *got, want)
			}
		})
	}
}

func TestUserByName(t *testing.T) {
	s := mustOpen(t)
	ctx := context.Background()
	want := mustCreateUser(t, s, "Tester")
	for _, tt := range []struct {
		name, key string
		err       error
	}{
		{"OK", "Tester", nil},
		{"OKOtherCase", "tester", nil},
		{"ErrNotFound", "nobody", ErrNotFound},
		{"ErrNotFoundEmpty", "", ErrNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.UserByName(ctx, tt.key)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("UserByName(%q) = %v; want %v", tt.key, err, tt.err)
			}
			if err == nil && *got != *want {
				t.Errorf("UserByName(%q) = %+v; want %+v", tt.key, *got, *want)
			}
		})
	}
}

func TestListAndCountUsers(t *testing.T) {
	s := mustOpen(t)
	ctx := context.Background()
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers() = %d, %v; want 0", n, err)
	}
	names := []string{"zed", "alice", "mike"}
	for _, n := range names {
		mustCreateUser(t, s, n)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != len(names) {
		t.Errorf("CountUsers() = %d, %v; want %d", n, err, len(names))
	}
	users, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range users {
		got = append(got, u.GlobalKey)
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("ListUsers() = %v; want %v (by id)", got, names)
	}
}

func TestPasswords(t *testing.T) {
	s := mustOpen(t)
	ctx := context.Background()
	mustCreateUser(t, s, "tester") // password "secret-tester"

	verify := []struct {
		name, user, password string
		want                 error
	}{
		{"OK", "tester", "secret-tester", nil},
		{"OKOtherCase", "TESTER", "secret-tester", nil},
		{"ErrWrongPassword", "tester", "secret-Tester", ErrBadCredentials},
		{"ErrEmptyPassword", "tester", "", ErrBadCredentials},
		{"ErrUnknownUser", "nobody", "secret-tester", ErrBadCredentials},
	}
	for _, tt := range verify {
		t.Run("Verify"+tt.name, func(t *testing.T) {
			u, err := s.VerifyPassword(ctx, tt.user, tt.password)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("VerifyPassword(%q, %q) = %v; want %v", tt.user, tt.password, err, tt.want)
			}
			if err == nil && u.GlobalKey != "tester" {
				t.Errorf("VerifyPassword(%q) returned user %q", tt.user, u.GlobalKey)
			}
		})
	}

	t.Run("ChangePassword", func(t *testing.T) {
		if _, err := s.ChangePassword(ctx, "tester", "new password", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifyPassword(ctx, "tester", "new password"); err != nil {
			t.Errorf("VerifyPassword(new) = %v", err)
		}
		if _, err := s.VerifyPassword(ctx, "tester", "secret-tester"); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("VerifyPassword(old) = %v; want ErrBadCredentials", err)
		}
	})
	t.Run("ChangePasswordErrNotFound", func(t *testing.T) {
		if _, err := s.ChangePassword(ctx, "nobody", "long enough", ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("ChangePassword(nobody) = %v; want ErrNotFound", err)
		}
	})
	t.Run("ChangePasswordErrInvalid", func(t *testing.T) {
		if _, err := s.ChangePassword(ctx, "tester", "", ""); !errors.Is(err, input.ErrInvalid) {
			t.Errorf("ChangePassword(empty) = %v; want ErrInvalid", err)
		}
	})
}
