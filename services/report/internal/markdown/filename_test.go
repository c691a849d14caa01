package markdown

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFileName(t *testing.T) {
	at := time.Date(2024, 5, 17, 9, 4, 3, 999, time.UTC)
	long := strings.Repeat("a", 100)
	tests := []struct {
		name                string
		t                   time.Time
		project, typ, sigID string
		want                string
	}{
		{"a plain java exception keeps its dots",
			at, "shop", "java.lang.NullPointerException", "sig-0123abcd",
			"2024-05-17/09-04-03_shop_java.lang.NullPointerException_sig-0123abcd.md"},
		{"the time is taken in UTC",
			time.Date(2024, 5, 17, 23, 30, 0, 0, time.FixedZone("CEST", -2*60*60)), "shop", "AssertionError", "s1",
			"2024-05-18/01-30-00_shop_AssertionError_s1.md"},
		{"a go pointer type loses its leading star",
			at, "api", "*errors.errorString", "s1",
			"2024-05-17/09-04-03_api_errors.errorString_s1.md"},
		{"path traversal in the error type cannot climb out",
			at, "shop", "../../etc/passwd", "s1",
			"2024-05-17/09-04-03_shop_etc_passwd_s1.md"},
		{"path traversal in every part cannot climb out",
			at, "..", "../..", "../../../root/.ssh/id_rsa",
			"2024-05-17/09-04-03_unknown_unknown_root_.ssh_id_rsa.md"},
		{"a slash and a colon in the error type become one underscore each",
			at, "web", "TypeError: x/y", "s1",
			"2024-05-17/09-04-03_web_TypeError_x_y_s1.md"},
		{"backslashes cannot make a windows path",
			at, `C:\Windows`, `..\..\boot.ini`, "s1",
			"2024-05-17/09-04-03_C_Windows_boot.ini_s1.md"},
		{"a run of dots inside a name collapses to one",
			at, "shop", "a...b", "s1..",
			"2024-05-17/09-04-03_shop_a.b_s1.md"},
		{"a hidden name loses its leading dot",
			at, ".hidden", ".env", "_s1",
			"2024-05-17/09-04-03_hidden_env_s1.md"},
		{"unicode becomes one underscore per run",
			at, "café", "ÉchecDeTest", "sig-π-ü",
			"2024-05-17/09-04-03_caf_checDeTest_sig-_-.md"},
		{"empty parts become unknown",
			at, "", "", "",
			"2024-05-17/09-04-03_unknown_unknown_unknown.md"},
		{"parts of only punctuation become unknown",
			at, "___", "!!!", "//",
			"2024-05-17/09-04-03_unknown_unknown_unknown.md"},
		{"very long parts are cut to 60 bytes each",
			at, long, long, long,
			"2024-05-17/09-04-03_" + long[:60] + "_" + long[:60] + "_" + long[:60] + ".md"},
		{"a cut that ends on punctuation is trimmed",
			at, "shop", strings.Repeat("a", 59) + "::b", "s1",
			"2024-05-17/09-04-03_shop_" + strings.Repeat("a", 59) + "_s1.md"},
		{"control characters and NUL bytes are replaced",
			at, "shop\x00", "Err\n\tor", "s\x001",
			"2024-05-17/09-04-03_shop_Err_or_s_1.md"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FileName(tt.t, tt.project, tt.typ, tt.sigID)
			if got != tt.want {
				t.Errorf("FileName(%v, %q, %q, %q)\n got %q\nwant %q", tt.t, tt.project, tt.typ, tt.sigID, got, tt.want)
			}
			if _, err := checkRel("/reports", got); err != nil {
				t.Errorf("Write would refuse FileName's result %q: %v", got, err)
			}
		})
	}
}

func TestFileNameIsAlwaysSafe(t *testing.T) {
	at := time.Date(2024, 5, 17, 9, 4, 3, 0, time.UTC)
	hostile := []string{
		"", ".", "..", "...", "/", "//", "./.", "../", "/etc/passwd", "a/../../b",
		"\x00", "\n", "..\u2215..", "．．/．．", "~", "~root", " ", "-", "-rf",
		strings.Repeat("../", 100), strings.Repeat("é", 100), "a.", "a_", ".a.", "CON",
	}
	for _, p := range hostile {
		for _, e := range hostile {
			name := FileName(at, p, e, p+e)
			dir, file := filepath.Split(name)
			switch {
			case dir != "2024-05-17/":
				t.Fatalf("FileName(%q, %q) = %q is not in the date directory", p, e, name)
			case strings.Contains(name, ".."):
				t.Fatalf("FileName(%q, %q) = %q contains ..", p, e, name)
			case strings.HasPrefix(file, "."):
				t.Fatalf("FileName(%q, %q) = %q is hidden", p, e, name)
			case len(file) > 255:
				t.Fatalf("FileName(%q, %q) = %q is longer than a file name may be", p, e, name)
			}
			for i := 0; i < len(file); i++ {
				c := file[i]
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
					t.Fatalf("FileName(%q, %q) = %q contains byte %q", p, e, name, c)
				}
			}
		}
	}
}
