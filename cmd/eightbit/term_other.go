//go:build !linux

package main

import "os"

// isTerminal reports whether f is a terminal; off Linux eightbit assumes
// not and prints plain progress lines.
func isTerminal(f *os.File) bool { return false }
