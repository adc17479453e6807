// Package version holds eightbit's version, written into reports and into
// the producer fields of the models it quantizes.
package version

// Version is eightbit's release version.
const Version = "0.1.0-dev"

// Producer is the producer name of the models eightbit writes.
const Producer = "eightbit"
