package storage

import "testing"

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"/data/zoo":       "/data/zoo",
		"gs://bucket/zoo": "gs://bucket/zoo",
		"s3://b/zoo?region=eu-west-1&endpoint=http://127.0.0.1:9000&use_path_style=true":                  "s3://b/zoo?region=eu-west-1&endpoint=http://127.0.0.1:9000&use_path_style=true",
		"s3://b/m.onnx?X-Amz-Credential=AKIAEXAMPLE%2F20261204&X-Amz-Signature=deadbeef&region=us-east-1": "s3://b/m.onnx?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&region=us-east-1",
		"azblob://c/zoo?sv=2022-11-02&sig=abc%3D&domain=blob.core.windows.net":                            "azblob://c/zoo?sv=REDACTED&sig=REDACTED&domain=blob.core.windows.net",
		"file:///zoo?secret_key_path=/keys/k&base_url=https://x/y":                                        "file:///zoo?secret_key_path=REDACTED&base_url=REDACTED",
		"https://user:hunter2@example.com/m.onnx":                                                         "https://user:REDACTED@example.com/m.onnx",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
