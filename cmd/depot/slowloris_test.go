package main

import (
	"flag"

	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depot/depot/cmd/depot/internal/server"
)

var slowlorisConns = flag.Int("slowloris", 200, "connections that trickle their headers in TestSlowloris (1000 for the README's run)")

// TestSlowloris: connections that trickle their headers a byte at a time
// neither stop another client nor stay open past the header timeout.
// It runs the http.Server that depot serve runs, with a short header
// timeout.
func TestSlowloris(t *testing.T) {
	const headerTimeout = time.Second
	o := defaultOptions()
	o.readHeaderTimeout = headerTimeout
	_, surf := testData(t)
	srv := newHTTPServer(server.New(surf), o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	n := *slowlorisConns
	start := time.Now()
	var wg sync.WaitGroup
	closed := make(chan time.Duration, n)
	var opened sync.WaitGroup
	opened.Add(n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			dialed := time.Now()
			opened.Done()
			if err != nil {
				t.Errorf("connection %d: %v", i, err)
				return
			}
			defer c.Close()
			// One byte every 100ms: each arrives long before any
			// per-read timeout would fire, and the headers never end.
			go func() {
				for _, b := range []byte("GET /api/v1/auth/scopes HTTP/1.1\r\nHost: depot\r\nX-Slow: " + strings.Repeat("a", 200)) {
					if _, err := c.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
			c.SetReadDeadline(time.Now().Add(10 * headerTimeout))
			io.Copy(io.Discard, c) // until the server closes it
			closed <- time.Since(dialed)
		}()
	}
	opened.Wait()
	opening := time.Since(start)
	time.Sleep(headerTimeout / 4) // every one of them is trickling

	// Meanwhile a normal client is served at once, again and again.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var worst time.Duration
	for range 10 {
		t0 := time.Now()
		res, err := client.Get("http://" + addr + "/api/v1/auth/scopes")
		if err != nil {
			t.Fatalf("a normal request during the attack: %v", err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/auth/scopes = %d during the attack", res.StatusCode)
		}
		worst = max(worst, time.Since(t0))
	}
	if worst > headerTimeout/2 {
		t.Errorf("a normal request took %v during the attack", worst)
	}

	wg.Wait()
	close(closed)
	var last time.Duration
	for d := range closed {
		last = max(last, d)
	}
	// Each trickler is dropped at the header timeout, not when its
	// headers would have ended (20 s on) nor at its own read deadline.
	// Each is timed from its own dial: timed from before the first,
	// dialling the others on a loaded machine counted against the bound.
	// Without the timeout each would live until its read deadline,
	// 10 s; half that tells the two apart with room for a loaded
	// machine, where accepting 200 connections under -race took 2.3 s.
	if last > 5*headerTimeout {
		t.Errorf("the longest-lived trickling connection was dropped %v after it opened; want about %v", last, headerTimeout)
	}
	t.Logf("%d trickling connections, opened in %v: normal requests took at most %v; each dropped within %v of opening", n, opening, worst, last)
}
