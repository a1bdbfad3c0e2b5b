package main

import "strings"

// refList is a flag of ref patterns that may be repeated and may hold
// several patterns separated by commas: --hide-refs refs/pull/,refs/keep-around/
// and --hide-refs refs/pull/ --hide-refs refs/keep-around/ say the same.
type refList []string

func (l *refList) String() string { return strings.Join(*l, ",") }

func (l *refList) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}
