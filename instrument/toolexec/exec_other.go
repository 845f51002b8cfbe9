//go:build !unix

package toolexec

// replaceProcess is not supported here: the driver runs the tool as a
// child instead.
func replaceProcess(path string, args []string) error {
	return errReplaceUnsupported
}
