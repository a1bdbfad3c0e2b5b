package audit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/depot/depot/tokens/sqlite"
	"github.com/depot/depot/tokens/sqlite/dbtest"
)

func newStore(t testing.TB) *Store {
	t.Helper()
	db, err := sqlite.OpenAt(context.Background(), dbtest.Location(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return New(db)
}

func TestList(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	events := []Event{
		{Actor: "admin", Action: TokenCreate, Target: "t1", Subject: "tester"},
		{Actor: "tester", Action: TokenDelete, Target: "t1", Subject: "tester"},
		{Actor: "other", Action: RepoCreate, Target: "other/x", Subject: "other"},
		{Action: AuthFail, Target: "tester", Subject: "tester", Detail: "bad credentials"},
		{Actor: "admin", Action: MemberAdd, Target: "team", Subject: "other", Detail: "role viewer"},
	}
	for i, e := range events {
		e.Time = base.Add(time.Duration(i) * time.Second)
		if err := s.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		q     Query
		total int
		want  []string // targets, newest first
	}{
		{"All", Query{PageSize: 10}, 5, []string{"team", "tester", "other/x", "t1", "t1"}},
		{"ViewerSeesActorOrSubject", Query{Viewer: "TESTER", PageSize: 10}, 3, []string{"tester", "t1", "t1"}},
		{"ViewerOther", Query{Viewer: "other", PageSize: 10}, 2, []string{"team", "other/x"}},
		{"UserWithinViewer", Query{Viewer: "other", User: "admin", PageSize: 10}, 1, []string{"team"}},
		{"Action", Query{Action: TokenCreate, PageSize: 10}, 1, []string{"t1"}},
		{"ActionFamily", Query{Action: "token.", PageSize: 10}, 2, []string{"t1", "t1"}},
		{"NotAFamily", Query{Action: "token", PageSize: 10}, 0, nil},
		{"SecondPage", Query{PageNo: 2, PageSize: 2}, 5, []string{"other/x", "t1"}},
		{"LastPage", Query{PageNo: 3, PageSize: 2}, 5, []string{"t1"}},
		{"PastTheEnd", Query{PageNo: 4, PageSize: 2}, 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			total, page, err := s.List(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range page {
				got = append(got, e.Target)
			}
			if total != tc.total || strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("List(%+v) = %d %v; want %d %v", tc.q, total, got, tc.total, tc.want)
			}
		})
	}
	_, page, err := s.List(ctx, Query{Action: MemberAdd, PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if e := page[0]; e.ID == 0 || !e.Time.Equal(base.Add(4*time.Second)) || e.Actor != "admin" || e.Detail != "role viewer" {
		t.Errorf("read back %+v; want the event as recorded", e)
	}
}

func TestRecordClipsAndRefuses(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if err := s.Record(ctx, Event{Actor: "x"}); err == nil {
		t.Error("Record without an action succeeded; want an error")
	}
	long := strings.Repeat("é", 1000) // 2,000 bytes
	if err := s.Record(ctx, Event{Action: AuthFail, Target: long, Detail: long}); err != nil {
		t.Fatal(err)
	}
	_, page, err := s.List(ctx, Query{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if e := page[0]; len(e.Target) != maxDetail || len(e.Detail) != maxDetail || !strings.HasPrefix(long, e.Detail) {
		t.Errorf("a 2,000-byte target and detail were kept as %d and %d bytes; want %d, cut between runes", len(e.Target), len(e.Detail), maxDetail)
	}
	if e := page[0]; e.Time.IsZero() || time.Since(e.Time) > time.Minute {
		t.Errorf("an event without a time got %v; want now", e.Time)
	}
}

func TestExpire(t *testing.T) {
	s := newStore(t)
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	ctx := context.Background()
	for _, age := range []time.Duration{400 * 24 * time.Hour, 100 * 24 * time.Hour, 89 * 24 * time.Hour, time.Minute} {
		if err := s.Record(ctx, Event{Action: SignIn, Time: now.Add(-age), Detail: age.String()}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name      string
		retention time.Duration
		deleted   int64
		left      int
	}{
		{"Forever", 0, 0, 4},
		{"Year", 365 * 24 * time.Hour, 1, 3},
		{"NinetyDays", 90 * 24 * time.Hour, 1, 2},
		{"Hour", time.Hour, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(ctx)
			var got []int64
			s.Expire(ctx, tc.retention, time.Hour, func(n int64, err error) {
				if err != nil {
					t.Error(err)
				}
				got = append(got, n)
				cancel() // one round is enough
			})
			total, _, err := s.List(context.Background(), Query{PageSize: 10})
			if err != nil {
				t.Fatal(err)
			}
			if tc.retention > 0 && (len(got) != 1 || got[0] != tc.deleted) {
				t.Errorf("Expire(%v) reported %v; want [%d]", tc.retention, got, tc.deleted)
			}
			if total != tc.left {
				t.Errorf("after Expire(%v), %d events; want %d", tc.retention, total, tc.left)
			}
		})
	}
}
