package toolexec

import "errors"

// errReplaceUnsupported is what replaceProcess returns where a process
// cannot replace itself.
var errReplaceUnsupported = errors.New("replacing the process is not supported on this system")
