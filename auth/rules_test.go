package auth

import "testing"

func TestRulesMatch(t *testing.T) {
	r := &Rules{Repos: []string{"tester/site", "Test/ci-*"}, Refs: []string{"refs/heads/ci/*", "refs/tags/v*"},
		Operations: []string{OpFetch}}
	for _, tc := range []struct {
		owner, name string
		want        bool
	}{
		{"tester", "site", true},
		{"TESTER", "Site", true},
		{"test", "ci-build", true},
		{"test", "ci-", true},
		{"test", "build", false},
		{"tester", "site2", false},
		{"other", "site", false},
	} {
		if got := r.AllowsRepo(tc.owner, tc.name); got != tc.want {
			t.Errorf("AllowsRepo(%q, %q) = %v; want %v", tc.owner, tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		ref  string
		want bool
	}{
		{"refs/heads/ci/x", true},
		{"refs/heads/ci/x/y", false}, // '*' stays within a segment
		{"refs/heads/main", false},
		{"refs/heads/CI/x", false}, // refs are case-sensitive
		{"refs/tags/v1.0", true},
		{"refs/tags/release", false},
	} {
		if got := r.AllowsRef(tc.ref); got != tc.want {
			t.Errorf("AllowsRef(%q) = %v; want %v", tc.ref, got, tc.want)
		}
	}
	if !r.AllowsOperation(OpFetch) || r.AllowsOperation(OpPush) {
		t.Errorf("AllowsOperation: fetch %v push %v; want true false", r.AllowsOperation(OpFetch), r.AllowsOperation(OpPush))
	}
	var none *Rules
	if !none.AllowsRepo("a", "b") || !none.AllowsRef("refs/x") || !none.AllowsOperation(OpPush) {
		t.Error("nil rules must allow everything")
	}
}

func TestRulesWithin(t *testing.T) {
	limit := &Rules{Repos: []string{"tester/*"}, Operations: []string{OpFetch, OpPush},
		Refs: []string{"refs/heads/ci/*"}, AllowDelete: true}
	for _, tc := range []struct {
		name         string
		rules, limit *Rules
		field, entry string // "" and "" with ok
		ok           bool
	}{
		{name: "NoLimit", rules: nil, limit: nil, ok: true},
		{name: "RulesUnderNoLimit", rules: &Rules{AllowForcePush: true}, limit: nil, ok: true},
		{name: "ErrAbsentUnderLimit", rules: nil, limit: limit},
		{name: "Same", rules: limit, limit: limit, ok: true},
		{name: "NarrowerGlob", rules: &Rules{Repos: []string{"Tester/ci-*", "tester/x"}, Operations: []string{OpPush},
			Refs: []string{"refs/heads/ci/a*"}}, limit: limit, ok: true},
		{name: "ErrRepoOutside", rules: &Rules{Repos: []string{"other/x"}, Operations: []string{OpPush}, Refs: []string{"refs/heads/ci/a"}},
			limit: limit, field: "repos", entry: "other/x"},
		{name: "ErrRepoWiderGlob", rules: &Rules{Repos: []string{"*/x"}, Operations: []string{OpPush}, Refs: []string{"refs/heads/ci/a"}},
			limit: limit, field: "repos", entry: "*/x"},
		{name: "ErrReposAbsent", rules: &Rules{Operations: []string{OpPush}, Refs: []string{"refs/heads/ci/a"}},
			limit: limit, field: "repos"},
		{name: "ErrOperationsAbsent", rules: &Rules{Repos: []string{"tester/x"}},
			limit: &Rules{Operations: []string{OpFetch}}, field: "operations"},
		{name: "ErrOperationBeyond", rules: &Rules{Operations: []string{OpFetch, OpPush}},
			limit: &Rules{Operations: []string{OpFetch}}, field: "operations", entry: OpPush},
		{name: "ErrRefBeyond", rules: &Rules{Repos: []string{"tester/x"}, Operations: []string{OpPush}, Refs: []string{"refs/heads/*"}},
			limit: limit, field: "refs", entry: "refs/heads/*"},
		{name: "ErrRefOtherCase", rules: &Rules{Repos: []string{"tester/x"}, Operations: []string{OpPush}, Refs: []string{"refs/heads/CI/x"}},
			limit: limit, field: "refs", entry: "refs/heads/CI/x"},
		{name: "ErrRefsAbsent", rules: &Rules{Repos: []string{"tester/x"}, Operations: []string{OpPush}},
			limit: limit, field: "refs"},
		{name: "ErrForcePush", rules: &Rules{AllowForcePush: true}, limit: &Rules{}, field: "allowForcePush"},
		{name: "ErrDelete", rules: &Rules{AllowDelete: true}, limit: &Rules{}, field: "allowDelete"},
		{name: "DeleteUnderDelete", rules: &Rules{AllowDelete: true}, limit: &Rules{AllowDelete: true}, ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			field, entry, ok := RulesWithin(tc.rules, tc.limit)
			if field != tc.field || entry != tc.entry || ok != tc.ok {
				t.Fatalf("RulesWithin = %q, %q, %v; want %q, %q, %v", field, entry, ok, tc.field, tc.entry, tc.ok)
			}
		})
	}
}
