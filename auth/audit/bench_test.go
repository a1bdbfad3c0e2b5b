package audit

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkRecord is the cost an event adds to the change it records:
// one insert, committed (WAL, synchronous as the DSN sets it).
func BenchmarkRecord(b *testing.B) {
	s := newStore(b)
	ctx := context.Background()
	e := Event{Actor: "tester", IP: "10.1.2.3", Via: "password", Action: TokenCreate, Target: "09e456c0-9b86-468c-b31d-3e963d3c024e", Subject: "tester", Detail: "scopes=project:depot"}
	for b.Loop() {
		if err := s.Record(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList reads the first and the last page of 20 of a user's
// events among 100,000.
func BenchmarkList(b *testing.B) {
	s := newStore(b)
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UnixMilli()
	for i := range 100_000 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_events (time, actor, action, target, subject) VALUES (?, ?, ?, ?, ?)`,
			now+int64(i), fmt.Sprintf("user%d", i%1000), TokenCreate, "t", fmt.Sprintf("user%d", i%1000)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		q    Query
	}{
		{"AdminFirst", Query{PageNo: 1, PageSize: 20}},
		{"AdminLast", Query{PageNo: 5000, PageSize: 20}},
		{"UserFirst", Query{Viewer: "user7", PageNo: 1, PageSize: 20}},
		{"UserLast", Query{Viewer: "user7", PageNo: 5, PageSize: 20}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, page, err := s.List(ctx, tc.q); err != nil || len(page) != 20 {
					b.Fatal(len(page), err)
				}
			}
		})
	}
}
