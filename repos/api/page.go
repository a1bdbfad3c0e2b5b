package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/depot/depot/auth/apierr"
)

// Every list is paged as the token list is: pageNo from 1, pageSize from
// 1 to 1000 (default 10), and the answer says the total.
const (
	defaultPageSize = 10
	maxPageSize     = 1000
)

// paging is a list request's page.
type paging struct{ no, size int }

func readPaging(r *http.Request) (paging, error) {
	q := r.URL.Query()
	no, err := apierr.IntParam(q.Get("pageNo"), "pageNo", 1, 1, 1<<30)
	if err != nil {
		return paging{}, err
	}
	size, err := apierr.IntParam(q.Get("pageSize"), "pageSize", defaultPageSize, 1, maxPageSize)
	if err != nil {
		return paging{}, err
	}
	return paging{no: no, size: size}, nil
}

// bounds returns the half-open range of a list of n items that the page
// holds, empty past the end.
func (p paging) bounds(n int) (lo, hi int) {
	lo = min((p.no-1)*p.size, n)
	return lo, min(lo+p.size, n)
}

// listPage is a page of a list as the API answers it:
// {"total","pageNo","pageSize","<key>":[…]}, in that order, as the token
// list's.
type listPage struct {
	key   string
	total int
	p     paging
	items any // a slice, never nil
}

func (l listPage) MarshalJSON() ([]byte, error) {
	items, err := json.Marshal(l.items)
	if err != nil {
		return nil, err
	}
	key, err := json.Marshal(l.key)
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, `{"total":%d,"pageNo":%d,"pageSize":%d,%s:%s}`, l.total, l.p.no, l.p.size, key, items), nil
}

// writePage answers the page p of a list of total items under key.
func writePage[T any](w http.ResponseWriter, key string, p paging, total int, items []T) {
	if items == nil {
		items = []T{}
	}
	apierr.WriteJSON(w, http.StatusOK, listPage{key: key, total: total, p: p, items: items})
}

// pageOf is the page p of list.
func pageOf[T any](list []T, p paging) []T {
	lo, hi := p.bounds(len(list))
	return list[lo:hi]
}
