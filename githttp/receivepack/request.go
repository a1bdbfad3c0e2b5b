package receivepack

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/depot/depot/githttp/pktline"
	"github.com/depot/depot/repos/git/object"
)

// command is one ref update the client asked for, and what became of it.
type command struct {
	old, new plumbing.Hash
	name     string
	// reason is empty while the command may still succeed; otherwise it is
	// the error-msg of its "ng" line.
	reason string
	// applied is set once the ref holds the new value.
	applied bool
}

func (c *command) isDelete() bool { return c.new.IsZero() }
func (c *command) isCreate() bool { return c.old.IsZero() && !c.new.IsZero() }
func (c *command) failed() bool   { return c.reason != "" }

// fail records the first reason a command is refused; later ones are
// consequences of the first and would only confuse the client.
func (c *command) fail(reason string) {
	if c.reason == "" {
		c.reason = reason
	}
}

// request is the part of a POST /git-receive-pack body that precedes the
// pack: the command list and the push options.
type request struct {
	commands    []*command
	caps        map[string]string // capability name → value ("" when bare)
	pushOptions []string
}

func (q *request) has(capability string) bool {
	_, ok := q.caps[capability]
	return ok
}

// needsPack reports whether a pack follows the commands: the client sends
// one unless every command is a delete (gitprotocol-pack(5)).
func (q *request) needsPack() bool {
	for _, c := range q.commands {
		if !c.isDelete() {
			return true
		}
	}
	return false
}

// readRequest reads the update-request of gitprotocol-pack(5) from the
// start of the body: optional shallow lines, the command list and its
// flush, then, when push-options was negotiated, the options and their
// flush. It leaves the reader at the first byte of the pack: it reads r
// without buffering. Every error is a *pktline.ProtocolError.
func readRequest(r io.Reader, opt Options) (*request, error) {
	pr := pktline.NewReader(r)
	q := &request{caps: map[string]string{}}
	for {
		line, err := nextLine(pr)
		if err == errFlush {
			break
		}
		if err != nil {
			if err == io.EOF && len(q.commands) == 0 {
				return nil, pktline.Errorf("empty request")
			}
			return nil, pktline.Errorf("reading commands: %v", err)
		}
		// A shallow client names its shallow roots first; depot does not
		// advertise "shallow" and the connectivity check decides anyway.
		if bytes.HasPrefix(line, []byte("shallow ")) && len(q.commands) == 0 {
			continue
		}
		if len(q.commands) == 0 {
			if i := bytes.IndexByte(line, 0); i >= 0 {
				q.parseCaps(string(line[i+1:]))
				line = line[:i]
			}
		}
		c, err := parseCommand(string(line))
		if err != nil {
			return nil, err
		}
		if len(q.commands) >= opt.MaxCommands {
			return nil, pktline.Errorf("more than %d commands", opt.MaxCommands)
		}
		q.commands = append(q.commands, c)
	}
	if len(q.commands) == 0 {
		return q, nil
	}
	if f, ok := q.caps["object-format"]; ok && f != "sha1" {
		return nil, pktline.Errorf("unsupported object-format %q", f)
	}
	if q.has("push-options") {
		if err := q.readPushOptions(pr, opt); err != nil {
			return nil, err
		}
	}
	return q, nil
}

func (q *request) parseCaps(s string) {
	for _, f := range strings.Fields(s) {
		name, value, _ := strings.Cut(f, "=")
		q.caps[name] = value
	}
}

func (q *request) readPushOptions(pr *pktline.Reader, opt Options) error {
	for {
		line, err := nextLine(pr)
		if err == errFlush {
			return nil
		}
		if err != nil {
			return pktline.Errorf("reading push options: %v", err)
		}
		if len(q.pushOptions) >= opt.MaxPushOptions {
			return pktline.Errorf("more than %d push options", opt.MaxPushOptions)
		}
		q.pushOptions = append(q.pushOptions, string(line))
	}
}

// errFlush ends a list of pkt-lines.
var errFlush = errors.New("flush-pkt")

// nextLine reads a text pkt-line of protocol v0: errFlush for a flush,
// and a protocol error for the special packets of protocol v2.
func nextLine(pr *pktline.Reader) ([]byte, error) {
	kind, line, err := pr.NextLine()
	switch {
	case err != nil:
		var pe *pktline.ProtocolError
		if errors.As(err, &pe) {
			return nil, errors.New(pe.Msg)
		}
		return nil, err
	case kind == pktline.Flush:
		return nil, errFlush
	case kind != pktline.Data:
		return nil, errors.New("unexpected special pkt-line")
	}
	return line, nil
}

// maxRefNameLen keeps every report line well inside one pkt-line; no
// file system takes longer paths anyway.
const maxRefNameLen = 4096

// parseCommand parses "old-id SP new-id SP name".
func parseCommand(line string) (*command, error) {
	const hexLen = 40
	if strings.HasPrefix(line, "push-cert") {
		return nil, pktline.Errorf("push certificates are not supported")
	}
	if len(line) < 2*hexLen+3 || line[hexLen] != ' ' || line[2*hexLen+1] != ' ' {
		return nil, pktline.Errorf("malformed command %q", truncate(line, 100))
	}
	old, okOld := object.ParseLowerHex(line[:hexLen])
	nw, okNew := object.ParseLowerHex(line[hexLen+1 : 2*hexLen+1])
	if !okOld || !okNew {
		return nil, pktline.Errorf("malformed object id in command %q", truncate(line, 100))
	}
	name := line[2*hexLen+2:]
	if len(name) > maxRefNameLen {
		return nil, pktline.Errorf("ref name longer than %d bytes", maxRefNameLen)
	}
	return &command{old: old, new: nw, name: name}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
