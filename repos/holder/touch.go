package holder

import (
	"errors"
	"io/fs"
	"os"
	"sync"
	"time"
)

// Touch sets the modification time of path to now every interval, so that
// others who age what they find (leftovers, stale locks, leases) see it is
// in use, until the returned function is called; that function waits for
// a touch under way and may be called more than once. onMissing, when
// set, is called when path is gone at a touch, to put it back.
func Touch(path string, every time.Duration, onMissing func()) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				if err := os.Chtimes(path, now, now); errors.Is(err, fs.ErrNotExist) && onMissing != nil {
					onMissing()
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
		})
	}
}
