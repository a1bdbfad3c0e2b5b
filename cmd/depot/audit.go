package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/depot/depot/auth/audit"
)

// record writes an event that a CLI command caused to the audit log. The
// change is made already, so a failure to record it is a warning.
func (d *data) record(e *env, action, target, subject, detail string) {
	ev := audit.Event{Action: action, Via: audit.ViaCLI, Target: target, Subject: subject, Detail: detail}
	if err := d.audit.Record(context.Background(), ev); err != nil {
		fmt.Fprintf(e.stderr, "depot: warning: not in the audit log: %v\n", err)
	}
}

type auditFlags struct {
	user, action *string
	limit, page  *int
	json         *bool
}

func (f *auditFlags) register(fs *flag.FlagSet) {
	f.user = fs.String("user", "", "only the events this user caused or that concern them")
	f.action = fs.String("action", "", "only this action (token.create), or a family ending in a dot (token.)")
	f.limit = fs.Int("n", 50, "how many events, newest first (at most 1000)")
	f.page = fs.Int("page", 1, "which page of -n events")
	f.json = fs.Bool("json", false, "print the events as JSON, one object a line")
}

func runAudit(e *env, args []string) error {
	fs := newFlagSet("audit")
	var f auditFlags
	f.register(fs)
	d, _, err := openForCLI(e, fs, args, 0, "")
	if err != nil {
		return err
	}
	defer d.close()
	if *f.limit < 1 || *f.limit > audit.MaxPageSize {
		return usagef("-n must be from 1 to %d", audit.MaxPageSize)
	}
	if *f.page < 1 {
		return usagef("--page must be 1 or more")
	}
	if a := *f.action; a != "" && !strings.HasSuffix(a, ".") && !slices.Contains(audit.Actions, a) {
		return usagef("unknown action %q; actions are %s", a, strings.Join(audit.Actions, ", "))
	}
	total, events, err := d.audit.List(context.Background(), audit.Query{
		User: *f.user, Action: *f.action, PageNo: *f.page, PageSize: *f.limit})
	if err != nil {
		return err
	}
	if *f.json {
		enc := json.NewEncoder(e.stdout)
		for _, ev := range events {
			if err := enc.Encode(map[string]any{
				"id": ev.ID, "time": ev.Time.UnixMilli(), "actor": ev.Actor, "ip": ev.IP, "via": ev.Via,
				"action": ev.Action, "target": ev.Target, "subject": ev.Subject, "detail": ev.Detail,
			}); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tIP\tVIA\tACTION\tTARGET\tSUBJECT\tDETAIL")
	for _, ev := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Time.UTC().Format(time.RFC3339),
			dash(printable(ev.Actor)), dash(ev.IP), dash(printable(ev.Via)), ev.Action,
			dash(printable(ev.Target)), dash(printable(ev.Subject)), dash(printable(ev.Detail)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if shown := (*f.page-1)*(*f.limit) + len(events); shown < total {
		fmt.Fprintf(e.stdout, "(%d of %d events; --page %d for more)\n", len(events), total, *f.page+1)
	}
	return nil
}

// printable quotes s when it holds a tab, a newline or another control
// character that would break the columns.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// days is a flag holding a duration as Go writes it (2160h, 90m) or in
// whole days (90d); 0 means forever.
type days time.Duration

func (d *days) String() string {
	v := time.Duration(*d)
	if v != 0 && v%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(v/(24*time.Hour)), 10) + "d"
	}
	return v.String()
}

func (d *days) Set(s string) error {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseUint(n, 10, 16)
		if err != nil {
			return fmt.Errorf("%q is not a number of days such as 90d", s)
		}
		*d = days(time.Duration(v) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a duration such as 90d or 2160h", s)
	}
	*d = days(v)
	return nil
}

// defaultAuditRetention is how long the server keeps audit events unless
// --audit-retention says otherwise.
const defaultAuditRetention = 365 * 24 * time.Hour

// auditExpireEvery is how often the server deletes the events past the
// retention.
const auditExpireEvery = time.Hour
