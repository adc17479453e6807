package storage

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// isURL reports whether location is written as a URL ("scheme://...") rather
// than a local path.
func isURL(location string) bool {
	i := strings.Index(location, "://")
	if i <= 0 {
		return false
	}
	for _, r := range location[:i] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// parseFolder parses a folder location (URL or local path) into a URL. Local
// paths and relative file URLs ("file://./dir") become absolute file URLs.
func parseFolder(location string) (*url.URL, error) {
	if location == "" {
		return nil, errors.New("empty location")
	}
	if !isURL(location) {
		return localToURL(location)
	}
	u, err := url.Parse(location)
	if err != nil {
		return nil, err
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Fragment != "" {
		return nil, errors.New("fragments are not allowed in storage URLs")
	}
	switch u.Scheme {
	case "file":
		switch u.Host {
		case "", "localhost":
			u.Host = ""
		case ".":
			abs, err := localToURL(strings.TrimPrefix(u.Path, "/"))
			if err != nil {
				return nil, err
			}
			u.Host, u.Path, u.RawPath = "", abs.Path, ""
		default:
			return nil, fmt.Errorf("file URL with host %q: only local files are supported", u.Host)
		}
		if u.Path == "" {
			return nil, errors.New("file URL without a path")
		}
	case "mem":
	default:
		if u.Host == "" {
			return nil, fmt.Errorf("%s URL without a bucket name", u.Scheme)
		}
	}
	return u, nil
}

// Join resolves rel against the folder location base (typically the folder
// holding a manifest) and returns the resulting location.
//
//   - rel written as a URL ("s3://...", "file:///...") is returned unchanged;
//   - rel as an absolute path ("/data/m.onnx") is accepted only when base is
//     local (a plain path or file URL) and is returned in base's form;
//   - otherwise rel is a slash-separated relative path; it is cleaned and
//     appended to base, keeping base's query parameters (endpoint, region...).
//
// A relative rel that leads outside base ("..", "a/../../b") is an error.
func Join(base, rel string) (string, error) {
	if rel == "" {
		return "", fmt.Errorf("storage: join %q: empty relative path", base)
	}
	if isURL(rel) {
		if _, err := url.Parse(rel); err != nil {
			return "", fmt.Errorf("storage: join %q: %w", rel, err)
		}
		return rel, nil
	}
	if base == "" {
		return "", fmt.Errorf("storage: join %q: empty base", rel)
	}
	local := !isURL(base)
	var u *url.URL
	if !local {
		var err error
		if u, err = parseFolder(base); err != nil {
			return "", fmt.Errorf("storage: join base %q: %w", base, err)
		}
	}
	if strings.HasPrefix(rel, "/") {
		switch {
		case local:
			return filepath.Clean(rel), nil
		case u.Scheme == "file":
			u.Path, u.RawPath = path.Clean(rel), ""
			return u.String(), nil
		default:
			return "", fmt.Errorf("storage: join %q to %s: absolute path outside a local base", rel, displayURL(u))
		}
	}
	clean := path.Clean(rel)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("storage: join %q to %q: path escapes the base folder", rel, base)
	}
	if local {
		if clean == "." {
			return base, nil
		}
		return filepath.Join(base, filepath.FromSlash(clean)), nil
	}
	if clean != "." {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + clean
		u.RawPath = ""
	}
	return u.String(), nil
}

// Split splits the location of an object into its folder location (usable
// with Open, query parameters kept) and its key, the last path element.
func Split(location string) (dir, key string, err error) {
	if location == "" {
		return "", "", errors.New("storage: split: empty location")
	}
	if !isURL(location) {
		dir, key = filepath.Split(location)
		if key == "" {
			return "", "", fmt.Errorf("storage: split %q: no file name", location)
		}
		if dir == "" {
			dir = "."
		}
		return filepath.Clean(dir), key, nil
	}
	u, err := parseFolder(location)
	if err != nil {
		return "", "", fmt.Errorf("storage: split %q: %w", location, err)
	}
	i := strings.LastIndex(u.Path, "/")
	key = u.Path[i+1:]
	if key == "" {
		return "", "", fmt.Errorf("storage: split %q: no object name", location)
	}
	u.Path, u.RawPath = u.Path[:max(i, 0)], ""
	if u.Scheme == "file" && u.Path == "" {
		u.Path = "/"
	}
	return u.String(), key, nil
}

// Resolve is like Join but lets a relative rel climb out of base with "..",
// staying inside base's bucket (or, for local bases, anywhere on the file
// system). Use it only for locations the user allowed to leave the folder.
func Resolve(base, rel string) (string, error) {
	if rel == "" || isURL(rel) || strings.HasPrefix(rel, "/") {
		return Join(base, rel)
	}
	if base == "" {
		return "", fmt.Errorf("storage: resolve %q: empty base", rel)
	}
	if !isURL(base) {
		return filepath.Join(base, filepath.FromSlash(rel)), nil
	}
	u, err := parseFolder(base)
	if err != nil {
		return "", fmt.Errorf("storage: resolve base %q: %w", base, err)
	}
	p := path.Join("/"+strings.Trim(u.Path, "/"), rel)
	if p == "/.." || strings.HasPrefix(p, "/../") {
		return "", fmt.Errorf("storage: resolve %q against %s: climbs above the bucket root", rel, displayURL(u))
	}
	u.Path, u.RawPath = p, ""
	return u.String(), nil
}
