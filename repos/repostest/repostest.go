// Package repostest holds what the tests of repositories share: the
// fixture repository (testdata/repo/fixture.fi at the top of the module,
// imported with the real git binary), and a Namespaces that records every
// question repos.Policy asks of the store.
package repostest

import (
	"context"
	"slices"
	"sync"

	"github.com/depot/depot/repos"
)

// Recorder is a repos.Namespaces that passes every call to the one it
// wraps and records the method's name, so that a test can check that two
// requests asked the store the same questions in the same order.
type Recorder struct {
	repos.Namespaces

	mu    sync.Mutex
	calls []string
}

var _ repos.Namespaces = (*Recorder)(nil)

// NewRecorder returns a Recorder over ns.
func NewRecorder(ns repos.Namespaces) *Recorder { return &Recorder{Namespaces: ns} }

func (r *Recorder) record(method string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, method)
}

// Calls returns the methods called since the last Reset, in order.
func (r *Recorder) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// Reset forgets the calls recorded so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
}

// ProjectRole implements repos.Namespaces.
func (r *Recorder) ProjectRole(ctx context.Context, project, user string) (repos.Role, bool, error) {
	r.record("ProjectRole")
	return r.Namespaces.ProjectRole(ctx, project, user)
}

// RepoInfo implements repos.Namespaces.
func (r *Recorder) RepoInfo(ctx context.Context, owner, name string) (*repos.Info, error) {
	r.record("RepoInfo")
	return r.Namespaces.RepoInfo(ctx, owner, name)
}

// Namespace implements repos.Namespaces.
func (r *Recorder) Namespace(ctx context.Context, name string) (kind, canonical string, err error) {
	r.record("Namespace")
	return r.Namespaces.Namespace(ctx, name)
}
