package pktline

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		kinds []Kind
		data  []string
		err   string // a protocol error containing this ends the read
	}{
		{name: "Lines", in: "0009want\n0000", kinds: []Kind{Data, Flush}, data: []string{"want\n", ""}},
		{name: "V2", in: "0014command=ls-refs\n00010002", kinds: []Kind{Data, Delim, ResponseEnd}, data: []string{"command=ls-refs\n", "", ""}},
		{name: "Empty", in: "0004", kinds: []Kind{Data}, data: []string{""}},
		{name: "UpperHex", in: "000Aabcdef", kinds: []Kind{Data}, data: []string{"abcdef"}},
		{name: "BadHex", in: "00zzabc", err: "invalid pkt-line length"},
		{name: "Three", in: "0003", err: "invalid pkt-line length 3"},
		{name: "TooLong", in: "fff1", err: "invalid pkt-line length 65521"},
		{name: "ShortHeader", in: "00", err: "truncated pkt-line header"},
		{name: "ShortPayload", in: "0010abc", err: "truncated pkt-line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.in))
			for i := range tc.kinds {
				k, b, err := r.Next()
				if err != nil || k != tc.kinds[i] || string(b) != tc.data[i] {
					t.Fatalf("Next %d = %v %q %v; want %v %q", i, k, b, err, tc.kinds[i], tc.data[i])
				}
			}
			_, _, err := r.Next()
			if tc.err == "" {
				if err != io.EOF {
					t.Fatalf("after the last line: %v; want io.EOF", err)
				}
				return
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) || !errors.Is(err, ErrProtocol) || !strings.Contains(pe.Msg, tc.err) {
				t.Fatalf("err = %v; want a protocol error with %q", err, tc.err)
			}
		})
	}
}

// TestReaderLeavesRest reads the lines before a pack and leaves the pack
// in the underlying reader, as receive-pack needs.
func TestReaderLeavesRest(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("000bcommand0000PACK..."))
	r := NewReader(br)
	if _, b, _ := r.NextLine(); string(b) != "command" {
		t.Fatalf("line %q", b)
	}
	if k, _, _ := r.Next(); k != Flush {
		t.Fatalf("kind %v", k)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "PACK..." {
		t.Fatalf("rest %q", rest)
	}
}

func TestWriter(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	w.Linef("want %s", "x")
	w.Delim()
	w.Data(nil)
	w.Flush()
	w.ResponseEnd()
	io.WriteString(w.Band(BandProgress, 3), "abcdefg")
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	want := "000bwant x\n00010004000000020008\x02abc0008\x02def0006\x02g"
	if b.String() != want {
		t.Fatalf("wrote %q; want %q", b.String(), want)
	}
	if got := string(AppendFlush(Append(nil, "# service=git-upload-pack\n"))); got != "001e# service=git-upload-pack\n0000" {
		t.Fatalf("Append = %q", got)
	}
	w.Data(make([]byte, MaxData+1))
	if w.Err() == nil {
		t.Fatal("an oversized payload went through")
	}
}

// FuzzReader never panics and never returns a payload longer than MaxData.
func FuzzReader(f *testing.F) {
	for _, s := range []string{"0009want\n0000", "00010002", "fff0", "0003", "000Aabcdef"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		for {
			_, b, err := r.Next()
			if err != nil {
				return
			}
			if len(b) > MaxData {
				t.Fatalf("payload of %d bytes", len(b))
			}
		}
	})
}
