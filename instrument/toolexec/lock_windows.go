//go:build windows

package toolexec

import (
	"os"

	"golang.org/x/sys/windows"
)

// lockFile takes a lock on the file name, creating it if needed, and
// returns the function that releases it. An exclusive lock excludes every
// other; shared locks exclude only an exclusive one.
func lockFile(name string, exclusive bool) (unlock func(), err error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	var flags uint32
	if exclusive {
		flags = windows.LOCKFILE_EXCLUSIVE_LOCK
	}
	ol := new(windows.Overlapped)
	h := windows.Handle(f.Fd())
	if err := windows.LockFileEx(h, flags, 0, 1, 0, ol); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		windows.UnlockFileEx(h, 0, 1, 0, ol)
		f.Close()
	}, nil
}
