package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/depot/depot/cmd/depot-bench/internal/procfs"
	"github.com/depot/depot/cmd/depot-bench/internal/synth"
)

// report is the result of a benchmark run, as printed and as written to
// --json. Times are in seconds, sizes in MB (2^20 bytes).
type report struct {
	Machine   machine          `json:"machine"`
	Repo      repoInfo         `json:"repo"`
	Rounds    int              `json:"rounds"`
	Scenarios []scenarioResult `json:"scenarios"`
}

// machine are the facts of the host that the numbers depend on.
type machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	RAMMB      int64  `json:"ram_mb"`
	GitVersion string `json:"git_version"`
	GoVersion  string `json:"go_version"`
}

// repoInfo describes the repository under test.
type repoInfo struct {
	Preset  string        `json:"preset"` // small, medium, large, custom or repo
	Params  *synth.Params `json:"params,omitempty"`
	Path    string        `json:"path"`
	Objects int64         `json:"objects"`
	Refs    int           `json:"refs"` // branches and tags
}

// scenarioResult is one row of the table.
type scenarioResult struct {
	Name  string        `json:"name"`
	CGit  *serverResult `json:"cgit"`
	Depot *serverResult `json:"depot"`
	// The ratios depot / C git of the medians; nil when a server failed
	// or C git's median is zero.
	WallRatio *float64 `json:"wall_ratio"`
	CPURatio  *float64 `json:"cpu_ratio"`
}

// serverResult is what one server did in one scenario.
type serverResult struct {
	WallMedian float64   `json:"wall_median_s,omitempty"`
	CPUMedian  float64   `json:"cpu_median_s,omitempty"`
	PeakRSSMB  float64   `json:"peak_rss_mb,omitempty"` // the largest of the rounds; depot only
	Wall       []float64 `json:"wall_s"`
	CPU        []float64 `json:"cpu_s"`
	// RSSSinceStart says the peak RSS could not be reset before the runs
	// and is the peak since the server started.
	RSSSinceStart bool   `json:"rss_since_start,omitempty"`
	Error         string `json:"error,omitempty"`

	walls, cpus []time.Duration
}

func (r *serverResult) add(s sample) {
	r.walls = append(r.walls, s.wall)
	r.cpus = append(r.cpus, s.cpu)
	r.Wall = append(r.Wall, s.wall.Seconds())
	r.CPU = append(r.CPU, s.cpu.Seconds())
	r.PeakRSSMB = math.Max(r.PeakRSSMB, float64(s.rss)/(1<<20))
	r.RSSSinceStart = r.RSSSinceStart || s.rssSinceStart
}

func newScenarioResult(name string, cgit, depot *serverResult) scenarioResult {
	row := scenarioResult{Name: name, CGit: cgit, Depot: depot}
	for _, r := range []*serverResult{cgit, depot} {
		r.WallMedian = median(r.walls).Seconds()
		r.CPUMedian = median(r.cpus).Seconds()
	}
	if cgit.Error == "" && depot.Error == "" {
		row.WallRatio = ratio(median(depot.walls), median(cgit.walls))
		row.CPURatio = ratio(median(depot.cpus), median(cgit.cpus))
	}
	return row
}

func newReport(c *config, src *source) *report {
	r := &report{
		Machine: machineFacts(),
		Repo:    repoInfo{Preset: c.preset, Path: src.path, Objects: src.objects, Refs: src.refCount},
		Rounds:  c.rounds,
	}
	if c.repo != "" {
		r.Repo.Preset = "repo"
	} else {
		p := c.params
		r.Repo.Params = &p
	}
	return r
}

func machineFacts() machine {
	m := machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPU = procfs.ParseCPUModel(b)
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		kb, _ := procfs.ParseKB(b, "MemTotal")
		m.RAMMB = kb / 1024
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "git", "--version").Output(); err == nil {
		m.GitVersion = strings.TrimPrefix(strings.TrimSpace(string(out)), "git version ")
	}
	return m
}

// fmtDur formats d with three significant digits, in ms below a second.
func fmtDur(d time.Duration) string {
	switch s := d.Seconds(); {
	case s >= 100:
		return fmt.Sprintf("%.0fs", s)
	case s >= 10:
		return fmt.Sprintf("%.1fs", s)
	case s >= 1:
		return fmt.Sprintf("%.2fs", s)
	default:
		return fmt.Sprintf("%.0fms", s*1000)
	}
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// writeTable prints the report as a Markdown table with a header line of
// machine facts, and the errors as numbered notes below it.
func writeTable(w io.Writer, r *report) {
	m := r.Machine
	fmt.Fprintf(w, "# %s, %d cores, %d MB RAM, git %s, %s; preset %s, %d objects, %d refs, %d rounds, medians\n\n",
		m.CPU, m.Cores, m.RAMMB, m.GitVersion, m.GoVersion, r.Repo.Preset, r.Repo.Objects, r.Repo.Refs, r.Rounds)
	rows := [][]string{{"scenario", "C git median", "depot median", "wall depot/C git", "server CPU C git", "server CPU depot", "CPU depot/C git", "depot peak RSS (MB)"}}
	var notes []string
	cell := func(res *serverResult, v float64) string {
		if res.Error != "" {
			notes = append(notes, res.Error)
			return fmt.Sprintf("error [%d]", len(notes))
		}
		return fmtDur(secs(v))
	}
	ratioCell := func(x *float64) string {
		if x == nil {
			return "–"
		}
		return fmt.Sprintf("%.2f×", *x)
	}
	for _, s := range r.Scenarios {
		var cgitWall, depotWall, cgitCPU, depotCPU string
		cgitWall = cell(s.CGit, s.CGit.WallMedian)
		depotWall = cell(s.Depot, s.Depot.WallMedian)
		cgitCPU, depotCPU = "–", "–"
		if s.CGit.Error == "" {
			cgitCPU = fmtDur(secs(s.CGit.CPUMedian))
		}
		rss := "–"
		if s.Depot.Error == "" {
			depotCPU = fmtDur(secs(s.Depot.CPUMedian))
			rss = fmt.Sprintf("%.0f", s.Depot.PeakRSSMB)
			if s.Depot.RSSSinceStart {
				rss += " (since start)"
			}
		}
		rows = append(rows, []string{s.Name, cgitWall, depotWall, ratioCell(s.WallRatio), cgitCPU, depotCPU, ratioCell(s.CPURatio), rss})
	}
	writeMarkdown(w, rows)
	for i, n := range notes {
		fmt.Fprintf(w, "\n[%d] %s", i+1, n)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
	}
}

// writeMarkdown writes rows as a Markdown table, the first row as header,
// with columns padded to equal width.
func writeMarkdown(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		for i, c := range row {
			b.WriteString("| ")
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", width[i]-len([]rune(c))+1))
		}
		b.WriteString("|\n")
		io.WriteString(w, b.String())
	}
	line(rows[0])
	sep := make([]string, len(width))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, row := range rows[1:] {
		line(row)
	}
}

func writeJSON(path string, r *report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
