package main

import (
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/eightbitml/eightbit/pipeline"
)

// BeamLogName is the file, under a local output folder, that receives the
// log lines of Beam and its runner (prism) unless --verbose is given.
const BeamLogName = "beam.log"

// beamLog is where Beam's log lines go for the running command: the path
// of the log file ("" when they are discarded or shown).
var beamLog struct {
	mu   sync.Mutex
	path string
}

// beamLogPath returns the log file of the running command, "" if none.
func beamLogPath() string {
	beamLog.mu.Lock()
	defer beamLog.mu.Unlock()
	return beamLog.path
}

// initBeam initializes Beam (pipeline.Init) and routes its log lines.
// Beam, prism and the SDK harness log through log/slog's default logger
// (which the standard log package then also writes to), at level ERROR
// for things like coder dumps of a failed bundle. With verbose they stay
// on stderr from level info up. Otherwise they go, from level info up, to
// out/beam.log (appended to) when out is a local folder, and are dropped
// for other output URLs; the terminal only shows eightbit's own lines. The
// returned function closes the log file.
func initBeam(verbose bool, out string) (closeLog func()) {
	pipeline.Init(logLevel(verbose))
	if verbose {
		return func() {}
	}
	var w io.Writer = io.Discard
	var f *os.File
	if dir, ok := localDir(out); ok {
		if err := os.MkdirAll(dir, 0o755); err == nil {
			p := filepath.Join(dir, BeamLogName)
			if f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
				w = f
				beamLog.mu.Lock()
				beamLog.path = p
				beamLog.mu.Unlock()
			}
		}
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})))
	return func() {
		beamLog.mu.Lock()
		beamLog.path = ""
		beamLog.mu.Unlock()
		if f != nil {
			slog.SetDefault(slog.New(slog.DiscardHandler))
			f.Close()
		}
	}
}

// localDir returns the local folder of an output location: a path or a
// file:// URL.
func localDir(out string) (string, bool) {
	if out == "" {
		return "", false
	}
	if !strings.Contains(out, "://") {
		return out, true
	}
	u, err := url.Parse(out)
	if err != nil || u.Scheme != "file" || u.Path == "" {
		return "", false
	}
	return u.Path, true
}

// oneLine collapses an error message to one line of at most max runes:
// runs of white space (newlines included) become one space.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = strings.TrimRight(string(r[:max-1]), " ") + "…"
	}
	return s
}
