//go:build !unix

package generate

import "os"

// keepOwner does nothing where files have no Unix owner and group.
func keepOwner(*os.File, string) {}
