//go:build unix

package generate

import (
	"os"
	"syscall"
)

// keepOwner gives f the owner and group of the file at path, as far as
// the process may: root keeps both, others at least a group they are in.
func keepOwner(f *os.File, path string) {
	info, err := os.Stat(path)
	if err != nil {
		return
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	if f.Chown(int(st.Uid), int(st.Gid)) != nil {
		f.Chown(-1, int(st.Gid))
	}
}
