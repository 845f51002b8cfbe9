//go:build unix

package toolexec

import (
	"os"
	"os/exec"
	"syscall"
)

// replaceProcess replaces the running process with the tool at path (execve):
// same arguments, environment, standard streams and, in the end, exit code.
// It returns only on failure.
func replaceProcess(path string, args []string) error {
	exe, err := exec.LookPath(path)
	if err != nil {
		return err
	}
	return syscall.Exec(exe, append([]string{path}, args...), os.Environ())
}
