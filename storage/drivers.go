package storage

import "fmt"

// driverPackages names the gocloud.dev/blob driver that serves each URL
// scheme storage opens through gocloud.dev/blob's default URL mux. storage
// imports none of them: the main package (a binary, or a test's drivers
// file) blank-imports the ones it supports. mem:// is storage's own.
var driverPackages = map[string]string{
	"file":   "gocloud.dev/blob/fileblob",
	"s3":     "gocloud.dev/blob/s3blob",
	"gs":     "gocloud.dev/blob/gcsblob",
	"azblob": "gocloud.dev/blob/azureblob",
}

// checkDriver reports a known scheme whose driver this program does not
// link; registered tells whether the URL mux has a scheme. Unknown schemes
// pass, and fail in the mux with its list of the schemes it has.
func checkDriver(scheme string, registered func(string) bool) error {
	pkg, known := driverPackages[scheme]
	if !known || registered(scheme) {
		return nil
	}
	return fmt.Errorf("no %s:// driver in this program: its main package must blank-import %s", scheme, pkg)
}
