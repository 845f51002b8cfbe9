//go:build unix

package toolexec

import (
	"os"
	"syscall"
)

// lockFile takes a lock on the file name, creating it if needed, and
// returns the function that releases it. An exclusive lock excludes every
// other; shared locks exclude only an exclusive one.
func lockFile(name string, exclusive bool) (unlock func(), err error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
