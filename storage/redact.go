package storage

import (
	"net/url"
	"strings"
)

// safeParams are the URL query parameters of gocloud.dev's openers that
// configure a store without granting access (region, endpoint, path
// style, ...). Redact keeps their values.
var safeParams = map[string]bool{
	"region": true, "endpoint": true, "use_path_style": true, "s3ForcePathStyle": true, "awssdk": true,
	"disableSSL": true, "disable_https": true, "dualstack": true, "fips": true, "accelerate": true,
	"anonymous": true, "profile": true, "domain": true, "protocol": true, "cdn": true, "localemu": true,
	"create_dir": true, "no_tmp_dir": true, "metadata": true, "prefix": true, "hostname_immutable": true,
}

// Redact returns a location as it may be shown in logs, reports and
// dead-letter files: the value of every query parameter that is not known
// to be harmless (signatures, tokens, credentials, key paths, SAS
// parameters) is replaced by REDACTED, and so is a password in the user
// information. A location without a query or user information is
// returned as it is.
func Redact(location string) string {
	if !isURL(location) || !strings.ContainsAny(location, "?@") {
		return location
	}
	u, err := url.Parse(location)
	if err != nil {
		// Unparsable: show nothing after the first '?'.
		base, _, _ := strings.Cut(location, "?")
		return base + "?REDACTED"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			k, _, _ := strings.Cut(p, "=")
			name, err := url.QueryUnescape(k)
			if err != nil || !safeParams[name] {
				parts[i] = k + "=REDACTED"
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	return u.String()
}
