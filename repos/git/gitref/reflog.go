package gitref

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/depot/depot/repos/git/object"
	"github.com/go-git/go-git/v5/plumbing"
)

// Reflogs are kept in git's own format (gitrepository-layout(5), "logs/"):
// logs/<ref> holds one line per update of <ref>, and logs/HEAD one per
// update of the branch HEAD names, each
//
//	<old> <new> <name> <<email>> <unix-seconds> <tz>\t<message>\n
//
// so that git reflog on the server's copy reads them. Git's line has one
// identity; depot puts the user there and the token and client address in
// a bracketed tail of the message, "push [token 1f3a…, from 10.1.2.3]",
// which Actor-aware readers take apart again and git shows as it is.
//
// Unlike C git, deleting a ref keeps its log and appends a deletion entry
// (new is zero): the log is how a deleted branch is found and restored.
// A kept log can stand in the way of a later ref as file against
// directory (logs/refs/heads/a against a new refs/heads/a/b); it is then
// moved aside to "<path>~<unix-nanos>", a name no ref can have ('~' is
// forbidden in ref names), and still read as the log of its ref.

// Actor is who made a ref update, for its reflog entry.
type Actor struct {
	// User is the depot user; "" stands for depot itself.
	User string
	// Email is the user's address; "" records User@depot.
	Email string
	// TokenID is the personal access token used, "" for a password or
	// the command line.
	TokenID string
	// Addr is the client's address, "" for the command line.
	Addr string
}

// ReflogEntry is one line of a reflog.
type ReflogEntry struct {
	// Ref is the full ref name, or "HEAD".
	Ref string
	// Old is zero for a creation, New zero for a deletion.
	Old, New plumbing.Hash
	// By is who made the update, as far as the line records it.
	By Actor
	// Time has a resolution of seconds, as git's line.
	Time time.Time
	// Message is what was done ("push", "branch: Created from main"),
	// without the actor's tail.
	Message string
}

// Log sets who makes the updates of tx and why, for their reflog
// entries. Without it the entries name depot itself and "update".
func (tx *Tx) Log(by Actor, message string) {
	tx.actor, tx.message = by, message
}

// logUpdates appends the reflog entry of every update still holding its
// lock, before any ref is written, as git's files backend does, but for
// the creations of a bulk transaction (see commitBulk). An update whose
// entry cannot be written leaves the transaction and fails, so that no
// ref moves without a record.
func (tx *Tx) logUpdates(fail func(*update, error), bulk map[*update]bool) {
	head, _ := HeadTarget(tx.dir)
	now := time.Now()
	kept := tx.ups[:0]
	for _, u := range tx.ups {
		if u.lock == nil || bulk[u] {
			kept = append(kept, u)
			continue
		}
		line := formatReflog(u.old, u.new, tx.actor, now, tx.message)
		err := appendReflog(tx.dir, u.name, line)
		if err == nil && u.name == head {
			err = appendReflog(tx.dir, "HEAD", line)
		}
		if err != nil {
			u.lock.release()
			u.lock = nil
			fail(u, fmt.Errorf("writing reflog: %w", err))
			continue
		}
		kept = append(kept, u)
	}
	tx.ups = kept
}

// logHEADMove appends to HEAD's reflog that HEAD moves from the branch
// it names to target, as git symbolic-ref -m does, when that changes the
// commit HEAD resolves to and target has one. The caller holds the
// repository's mutex.
func logHEADMove(dir, target string, by Actor) error {
	from, err := HeadTarget(dir)
	if err != nil || from == target {
		return nil
	}
	old, _, err := readRef(dir, from)
	if err != nil && !errors.Is(err, ErrSymref) {
		return err
	}
	new, _, err := readRef(dir, target)
	if err != nil && !errors.Is(err, ErrSymref) {
		return err
	}
	if new.IsZero() || new == old {
		return nil
	}
	msg := "default branch: moving from " + strings.TrimPrefix(from, headsPrefix) + " to " + strings.TrimPrefix(target, headsPrefix)
	return appendReflog(dir, "HEAD", formatReflog(old, new, by, time.Now(), msg))
}

// formatReflog returns the reflog line of one update.
func formatReflog(old, new plumbing.Hash, by Actor, when time.Time, message string) string {
	name, email := by.User, by.Email
	if name == "" {
		name = "depot"
	}
	if email == "" {
		email = name + "@depot"
	}
	if message == "" {
		message = "update"
	}
	var tail []string
	if by.TokenID != "" {
		tail = append(tail, "token "+by.TokenID)
	}
	if by.Addr != "" {
		tail = append(tail, "from "+by.Addr)
	}
	if len(tail) > 0 {
		message += " [" + strings.Join(tail, ", ") + "]"
	}
	// Git keeps a reflog message on one line; so does depot.
	message = strings.Join(strings.Fields(message), " ")
	return fmt.Sprintf("%s %s %s <%s> %d +0000\t%s\n", old, new, identClean(name), identClean(email), when.Unix(), message)
}

// identClean drops what would break the identity's parsing.
func identClean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '<' || r == '>' || r == '\n' || r == '\t' {
			return -1
		}
		return r
	}, s)
}

// logPath is where the reflog of name ("refs/heads/main" or "HEAD")
// lives.
func logPath(dir, name string) string {
	return filepath.Join(dir, "logs", filepath.FromSlash(name))
}

// appendReflog appends line to the reflog of name, moving aside a kept
// log that stands in its way.
func appendReflog(dir, name, line string) error {
	p := logPath(dir, name)
	for attempt := 0; ; attempt++ {
		err := appendFile(p, line)
		if err == nil || attempt == 1 || !(errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR)) {
			return err
		}
		if err := moveAside(dir, name); err != nil {
			return err
		}
	}
}

func appendFile(p, line string) error {
	fd, err := openRaw(p, syscall.O_WRONLY|syscall.O_APPEND|syscall.O_CREAT)
	if err != nil {
		return err
	}
	// One write: appends of one line by several processes do not mix.
	err = writeRaw(fd, p, []byte(line))
	if cerr := syscall.Close(fd); err == nil && cerr != nil {
		err = &fs.PathError{Op: "close", Path: p, Err: cerr}
	}
	return err
}

// moveAside renames the kept log that blocks the log of name: a file
// where a directory of its path must be, or a directory where its file
// must be.
func moveAside(dir, name string) error {
	suffix := "~" + strconv.FormatInt(time.Now().UnixNano(), 10)
	parts := strings.Split(name, "/")
	for i := 1; i <= len(parts); i++ {
		p := logPath(dir, strings.Join(parts[:i], "/"))
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if (i < len(parts) && !fi.IsDir()) || (i == len(parts) && fi.IsDir()) {
			return os.Rename(p, p+suffix)
		}
	}
	return nil
}

// asideSuffix is the mark of a log moved aside.
var asideSuffix = regexp.MustCompile(`~[0-9]+$`)

// logRefName returns the ref a log file under logs/ is the log of, rel
// being its slash-separated path below logs/.
func logRefName(rel string) string {
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		parts[i] = asideSuffix.ReplaceAllString(p, "")
	}
	return strings.Join(parts, "/")
}

// ReadReflog returns the reflog entries of ref (a full name or "HEAD"),
// or with ref "" those of every ref under refs/ (not HEAD, whose entries
// repeat its branch's), newest first. Logs of deleted refs are included.
// A missing log is no entries. A malformed line is skipped, as git skips
// it.
func ReadReflog(dir, ref string) ([]ReflogEntry, error) {
	if ref != "" && ref != "HEAD" {
		if err := CheckRefName(ref); err != nil {
			return nil, fmt.Errorf("gitref: read reflog: %w", err)
		}
	}
	var all []ReflogEntry
	err := walkLogs(dir, ref == "HEAD", func(p, name string) error {
		if ref != "" && name != ref {
			return nil
		}
		entries, err := readLogFile(p, name)
		all = append(all, entries...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("gitref: read reflog: %w", err)
	}
	// Lines of one file are in time order; a stable sort of the reversed
	// list keeps the later of two lines of the same second first.
	slices.Reverse(all)
	slices.SortStableFunc(all, func(a, b ReflogEntry) int { return b.Time.Compare(a.Time) })
	return all, nil
}

// walkLogs calls fn with the path and ref name of every log file under
// logs/refs/, or of logs/HEAD alone when head is set.
func walkLogs(dir string, head bool, fn func(path, name string) error) error {
	if head {
		p := logPath(dir, "HEAD")
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fn(p, "HEAD")
	}
	logs := filepath.Join(dir, "logs")
	return filepath.WalkDir(filepath.Join(logs, "refs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasSuffix(p, ".lock") {
			return nil
		}
		rel, err := filepath.Rel(logs, p)
		if err != nil {
			return err
		}
		name := logRefName(filepath.ToSlash(rel))
		if CheckRefName(name) != nil {
			return nil
		}
		return fn(p, name)
	})
}

func readLogFile(p, ref string) ([]ReflogEntry, error) {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []ReflogEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		if e, ok := parseReflog(sc.Text()); ok {
			e.Ref = ref
			out = append(out, e)
		}
	}
	return out, sc.Err()
}

// parseReflog parses one reflog line, without its newline.
func parseReflog(line string) (ReflogEntry, bool) {
	var e ReflogEntry
	head, msg, _ := strings.Cut(line, "\t")
	if len(head) < 2*object.HexSize+2 || head[object.HexSize] != ' ' || head[2*object.HexSize+1] != ' ' {
		return e, false
	}
	old, ok1 := object.ParseLowerHex([]byte(head[:object.HexSize]))
	new, ok2 := object.ParseLowerHex([]byte(head[object.HexSize+1 : 2*object.HexSize+1]))
	ident := head[2*object.HexSize+2:]
	lt, gt := strings.Index(ident, " <"), strings.LastIndexByte(ident, '>')
	if !ok1 || !ok2 || lt < 0 || gt < lt {
		return e, false
	}
	fields := strings.Fields(ident[gt+1:])
	if len(fields) < 1 {
		return e, false
	}
	secs, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil {
		return e, false
	}
	e.Old, e.New, e.Time = old, new, time.Unix(secs, 0).UTC()
	e.By.User, e.By.Email = ident[:lt], ident[lt+2:gt]
	e.Message = msg
	if text, tail, ok := cutTail(msg); ok {
		e.Message = text
		for _, part := range strings.Split(tail, ", ") {
			if v, ok := strings.CutPrefix(part, "token "); ok {
				e.By.TokenID = v
			} else if v, ok := strings.CutPrefix(part, "from "); ok {
				e.By.Addr = v
			}
		}
	}
	return e, true
}

// cutTail splits "push [token X, from Y]" into its text and what the
// brackets hold, when they hold only "token" and "from" parts.
func cutTail(msg string) (text, tail string, ok bool) {
	i := strings.LastIndex(msg, " [")
	if i < 0 || !strings.HasSuffix(msg, "]") {
		return msg, "", false
	}
	tail = msg[i+2 : len(msg)-1]
	for _, part := range strings.Split(tail, ", ") {
		if !strings.HasPrefix(part, "token ") && !strings.HasPrefix(part, "from ") {
			return msg, "", false
		}
	}
	return msg[:i], tail, true
}

// ExpireReflogs drops the reflog entries older than before from every log
// of the repository, as git reflog expire does, and removes the logs of
// deleted refs left empty. Each ref's log is rewritten under the
// repository's mutex and the ref's lock, which whoever appends holds.
// It returns how many entries it dropped.
func ExpireReflogs(dir string, before time.Time) (int, error) {
	mu := repoMutex(dir)
	mu.Lock()
	defer mu.Unlock()
	var paths, names []string
	collect := func(p, name string) error {
		paths, names = append(paths, p), append(names, name)
		return nil
	}
	if err := walkLogs(dir, true, collect); err != nil {
		return 0, fmt.Errorf("gitref: expire reflogs: %w", err)
	}
	if err := walkLogs(dir, false, collect); err != nil {
		return 0, fmt.Errorf("gitref: expire reflogs: %w", err)
	}
	dropped := 0
	for i, p := range paths {
		n, err := expireLog(dir, p, names[i], before)
		dropped += n
		if errors.Is(err, ErrLocked) {
			continue // the ref is being updated; its log expires next time
		}
		if err != nil {
			return dropped, fmt.Errorf("gitref: expire reflog of %s: %w", names[i], err)
		}
	}
	return dropped, nil
}

// expireLog rewrites the log at p, of the ref name, without the entries
// older than before.
func expireLog(dir, p, name string, before time.Time) (int, error) {
	// A log moved aside belongs to no ref that can be updated; the
	// repository's mutex is enough for it.
	if p == logPath(dir, name) {
		l, err := createLock(refPath(dir, name))
		if err != nil {
			return 0, err
		}
		defer func() {
			l.release()
			if name != "HEAD" {
				removeEmptyDirs(dir, name)
			}
		}()
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	var keep []byte
	dropped := 0
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if e, ok := parseReflog(strings.TrimSuffix(line, "\n")); ok && e.Time.Before(before) {
			dropped++
			continue
		}
		keep = append(keep, line...)
	}
	if dropped == 0 {
		return 0, nil
	}
	if len(keep) == 0 && name != "HEAD" {
		if _, ok, err := readRef(dir, name); err == nil && !ok {
			return dropped, removeLog(dir, p)
		}
	}
	tmp := p + ".lock"
	if err := os.WriteFile(tmp, keep, 0o644); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return dropped, nil
}

// removeLog removes the log at p and the directories it leaves empty
// below logs/refs/<kind>/.
func removeLog(dir, p string) error {
	if err := os.Remove(p); err != nil {
		return err
	}
	refsDir := filepath.Join(dir, "logs", "refs")
	for d := filepath.Dir(p); filepath.Dir(d) != refsDir && strings.HasPrefix(d, refsDir+string(filepath.Separator)); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	return nil
}

// ReflogObjects returns every object that a reflog entry of the
// repository names, old or new, HEAD's log included: what gc must keep
// after ExpireReflogs.
func ReflogObjects(dir string) ([]plumbing.Hash, error) {
	seen := map[plumbing.Hash]bool{}
	var out []plumbing.Hash
	for _, ref := range []string{"HEAD", ""} {
		entries, err := ReadReflog(dir, ref)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			for _, h := range []plumbing.Hash{e.Old, e.New} {
				if !h.IsZero() && !seen[h] {
					seen[h] = true
					out = append(out, h)
				}
			}
		}
	}
	return out, nil
}
