//go:build overmind_tidy

package main

// The runtime package is what the code toolexec mode generates imports.
// A module that has this command as a tool (go get -tool) but imports the
// runtime nowhere itself, a library instrumented only at compile time,
// still needs the runtime's dependencies in its go.sum. go mod tidy reads
// every file whatever its build tags, so this import, never compiled into
// the command, keeps them there.
import _ "github.com/overmind-core/overmind-go/runtime"
