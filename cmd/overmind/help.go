package main

import (
	_ "embed"
	"strings"
)

// doc is the source of doc.go, the command's documentation: the help text
// is its comment, so that the two cannot drift apart.
//
//go:embed doc.go
var doc string

// help is the help text of a command ("instrument", "go", ...), the
// section of doc.go with its name as heading, or for "" the overview
// before the first section; "" for an unknown command.
func help(cmd string) string {
	text := docText()
	sections := strings.Split(text, "\n# ")
	if cmd == "" {
		return strings.TrimRight(sections[0], "\n") + "\n\nRun \"overmind help <command>\" for a command's help.\n"
	}
	for _, s := range sections[1:] {
		title, body, _ := strings.Cut(s, "\n")
		if strings.EqualFold(title, cmd) {
			return strings.TrimLeft(body, "\n")
		}
	}
	return ""
}

// docText is the comment of doc.go, without its comment markers.
func docText() string {
	start := strings.Index(doc, "/*\n")
	end := strings.Index(doc, "*/\npackage main")
	if start < 0 || end < start {
		return doc
	}
	return doc[start+len("/*\n") : end]
}

// isHelp reports whether a lone argument asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}
