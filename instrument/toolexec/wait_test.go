package toolexec

import "time"

// afterShortWhile is how long a test waits to see that something does
// not happen.
func afterShortWhile() <-chan time.Time { return time.After(200 * time.Millisecond) }
