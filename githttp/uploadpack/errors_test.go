package uploadpack

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/depot/depot/githttp/pktline"
)

func TestServeMalformed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tip := f.main[5]
	unknown := strings.Repeat("cd", 20)
	v2 := func(lines ...string) string {
		return pkts(append([]string{"command=fetch", "0001"}, lines...)...)
	}
	manyWants := pkts("want " + tip + " side-band-64k")
	manyWants += strings.Repeat(pkts("want "+tip), maxWants) + "0000"
	tests := []struct {
		name     string
		version  int
		body     string
		reported bool   // the client was told in-band
		msg      string // part of the error message
	}{
		{"Garbage", 0, "hello, world", false, "invalid pkt-line length"},
		{"OversizedLength", 0, "ffff" + strings.Repeat("x", 100), false, "invalid pkt-line length 65535"},
		{"LengthBelowHeader", 0, "0003", false, "invalid pkt-line length 3"},
		{"TruncatedHeader", 0, "00", false, "truncated pkt-line header"},
		{"TruncatedPayload", 0, "0032want ", false, "truncated pkt-line"},
		{"HaveFirst", 0, pkts("have "+tip, "0000"), false, "expected want"},
		{"BadWantID", 0, pkts("want zz"+tip[2:], "0000", "done"), false, "invalid object id"},
		{"WantsWithoutFlush", 0, pkts("want " + tip), false, "ends before the flush"},
		{"HavesWithoutEnd", 0, pkts("want "+tip, "0000", "have "+tip), false, "without flush or done"},
		{"NegativeDeepen", 0, pkts("want "+tip, "deepen -1", "0000", "done"), false, "invalid deepen"},
		{"DeepenAndSince", 0, pkts("want "+tip, "deepen 1", "deepen-since 5", "0000", "done"), false, "cannot be used together"},
		{"UnsupportedFilter", 0, pkts("want "+tip+" filter", "filter sparse:oid=abc", "0000", "done"), false, "not supported"},
		{"UnknownLine", 0, pkts("want "+tip, "frobnicate", "0000", "done"), false, "unexpected line"},
		{"TooManyWants", 0, manyWants, false, "too many wants"},
		{"UnknownWant", 0, pkts("want "+unknown+" side-band-64k", "0000", "done"), true, "not our ref " + unknown},
		{"DeepenNotUnknown", 0, pkts("want "+tip, "deepen-not nope", "0000", "done"), true, "deepen-not: nope"},
		{"V2NoCommand", 2, pkts("hello", "0000"), false, "expected command="},
		{"V2UnknownCommand", 2, pkts("command=push", "0000"), false, "unknown command"},
		{"V2DelimFirst", 2, "0001", false, "expected command"},
		{"V2ArgsWithoutFlush", 2, pkts("command=fetch", "0001", "want "+tip), false, "without a flush-pkt"},
		{"V2BadArgument", 2, v2("want "+tip, "frobnicate", "0000"), false, "unexpected fetch argument"},
		{"V2ObjectFormat", 2, pkts("command=fetch", "object-format=sha256", "0001", "want "+tip, "0000"), false, "object format"},
		{"V2NoWants", 2, v2("done", "0000"), true, "no wants"},
		{"V2UnknownWantRef", 2, v2("want-ref refs/heads/nope", "done", "0000"), true, "unknown ref refs/heads/nope"},
		{"V2UnknownWant", 2, v2("want "+unknown, "done", "0000"), true, "not our ref"},
		{"V2LsRefsBadArg", 2, pkts("command=ls-refs", "0001", "bogus", "0000"), false, "unexpected ls-refs argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Serve(context.Background(), f.server, tt.version, strings.NewReader(tt.body), &out, Options{})
			var pe *pktline.ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("Serve = %v; want a *pktline.ProtocolError", err)
			}
			if !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("Msg = %q; want it to contain %q", pe.Msg, tt.msg)
			}
			if pe.Reported != tt.reported {
				t.Errorf("Reported = %v; want %v", pe.Reported, tt.reported)
			}
			switch {
			case !tt.reported && out.Len() > 0:
				t.Errorf("unreported error wrote %q", out.String())
			case tt.reported && !bytes.Contains(out.Bytes(), []byte("ERR ")):
				t.Errorf("reported error wrote no ERR pkt-line: %q", out.String())
			}
		})
	}
}

func TestServeEmptyRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tt := range []struct {
		name    string
		version int
		body    string
	}{{"V0Nothing", 0, ""}, {"V0Flush", 0, "0000"}, {"V2Nothing", 2, ""}, {"V2Flush", 2, "0000"}} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := Serve(context.Background(), f.server, tt.version, strings.NewReader(tt.body), &out, Options{}); err != nil || out.Len() > 0 {
				t.Errorf("Serve = %v, wrote %q; want nil and nothing", err, out.String())
			}
		})
	}
}

// FuzzServe checks that no request makes Serve panic, and that an error it
// does not report in-band leaves the response empty.
func FuzzServe(f *testing.F) {
	fx := newFixture(f)
	tip := fx.main[5]
	f.Add(0, pkts("want "+tip+" side-band-64k ofs-delta", "0000", "done"))
	f.Add(0, pkts("want "+tip+" multi_ack_detailed", "deepen 2", "0000", "have "+fx.main[3], "0000"))
	f.Add(0, pkts("want "+tip+" filter", "filter blob:limit=1k", "shallow "+fx.main[3], "0000", "done"))
	f.Add(2, pkts("command=fetch", "0001", "want "+tip, "deepen-since 1700000000", "done", "0000"))
	f.Add(2, pkts("command=ls-refs", "0001", "peel", "symrefs", "0000"))
	f.Add(0, "0004\x00\x01ffff")
	f.Fuzz(func(t *testing.T, version int, body string) {
		if version != 2 {
			version = 0
		}
		var out bytes.Buffer
		err := Serve(context.Background(), fx.server, version, strings.NewReader(body), &out, Options{})
		var pe *pktline.ProtocolError
		if errors.As(err, &pe) && !pe.Reported && out.Len() > 0 {
			t.Errorf("unreported error %v after writing %q", err, out.String())
		}
	})
}
