package grouping

import (
	"flag"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkIdempotent makes FuzzTemplate fail when Template(Template(x)) differs
// from Template(x). Off by default: Template is not idempotent on every
// input (see TestTemplateOfATemplate), and nothing templates twice.
var checkIdempotent = flag.Bool("template.idempotent", false, "make FuzzTemplate require Template(Template(x)) == Template(x)")

func TestTemplate(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// Numbers and numeric words.
		{"integers are masked", "expected 3, got 4", "expected <*>, got <*>"},
		{"negative and decimal numbers are masked", "balance -12.50 fell below 0", "balance <*> fell below <*>"},
		{"a hex literal is masked", "bad pointer 0xdeadbeef in frame", "bad pointer <*> in frame"},
		{"a run of hex letters as long as a hash is masked", "commit deadbeefcafe not found", "commit <*> not found"},
		{"a short run of hex letters stays", "added a bead", "added a bead"},
		{"a uuid is masked as one word", "order 123e4567-e89b-12d3-a456-426614174000 not found", "order <*> not found"},
		{"a version is masked", "requires go1.22 or later", "requires <*> or later"},
		{"a word holding a digit is masked whole", "Http2Transport closed", "<*> closed"},
		{"a number bound by < or > is masked with its bound", "lifetime <1 sec, retries >100", "lifetime <*>, retries <*>"},
		{"a number in angle brackets keeps its brackets", "expected:<3> but was:<4>", "expected:<<*>> but was:<<*>>"},

		// Dates, times and durations.
		{"an RFC 3339 timestamp is one mask", "at 2024-03-01T12:30:45.123Z", "at <*>"},
		{"a date and a time are one mask", "since 2024-03-01 12:30:45 UTC", "since <*> UTC"},
		{"a date with month and weekday names is one mask", "connection at Fri Jun 17 07:07:00 2005 closed", "connection at <*> closed"},
		{"a date with the day first is one mask", "expires 17 June 2025", "expires <*>"},
		{"a month name without a number stays", "May I retry in March?", "May I retry in March?"},
		{"a time of day is one mask", "lifetime 00:01:17", "lifetime <*>"},
		{"a duration with its unit is one mask", "timed out after 1.5s (limit 500 ms)", "timed out after <*> (limit <*>)"},
		{"durations in other units give the same template", "timed out after 30 seconds", "timed out after <*>"},
		{"sizes in other units give the same template", "wrote 5.2 KB of 1.1 GB", "wrote <*> of <*>"},
		{"a unit word after a word stays", "waited seconds", "waited seconds"},

		// Network addresses.
		{"an ip and a port are one mask", "dial tcp 10.0.0.1:5432: connect: connection refused", "dial tcp <*>: connect: connection refused"},
		{"a bracketed ipv6 address keeps its brackets and colons", "listen tcp [::1]:8080: bind: address already in use", "listen tcp [::<*>]:<*>: bind: address already in use"},
		{"an ipv6 address with hex groups is one mask", "addr 2607:f140:6000:8:c6b3:1ff:fecd:467f up", "addr <*> up"},
		{"a MAC address is one mask", "BSSID changed to 5c:50:15:36:bc:03", "BSSID changed to <*>"},
		{"a dotted host with a port is masked", "dial tcp db-1.internal.example.com:5432: i/o timeout", "dial tcp <*>: i/o timeout"},
		{"localhost with a port keeps the host", "dial tcp localhost:41234: i/o timeout", "dial tcp localhost:<*>: i/o timeout"},
		{"a key and its value stay a key", "cancelled at index:3", "cancelled at index:<*>"},
		{"a file and its line keep the file", "cart_test.go:42: want 3", "cart_test.go:<*>: want <*>"},
		{"a dotted host name is masked", "getaddrinfo for ns.example.com failed", "getaddrinfo for <*> failed"},
		{"a host name with a country domain is masked", "resolve proxy.cse.cuhk.edu.hk failed", "resolve <*> failed"},
		{"a package name stays", "class com.acme.shop.Cart not found", "class com.acme.shop.Cart not found"},
		{"a file name stays", "cannot parse jest.config.js", "cannot parse jest.config.js"},

		// Paths, URLs and addresses.
		{"a temp path is masked", "open /tmp/TestUpload123/001/file.txt: no such file or directory", "open <*>: no such file or directory"},
		{"a relative path is masked", "missing config/app.yaml", "missing <*>"},
		{"a Windows path is masked with its drive", `open C:\Users\ci\x.txt: access denied`, "open <*>: access denied"},
		{"a url is masked with its scheme and query", "GET https://api.example.com/v1/users?id=7&x=y failed", "GET <*> failed"},
		{"a path's query is masked with it", "GET /v2/servers/detail?all=True&since=2017 done", "GET <*> done"},
		{"an e-mail address is masked", "no user alice@example.com", "no user <*>"},
		{"a lone slash stays", "a / b", "a / b"},
		{"words joined by a slash stay", "i/o timeout reading application/json and/or text/plain", "i/o timeout reading application/json and/or text/plain"},
		{"a comment marker stays", "toBe(expected) // Object.is equality", "toBe(expected) // Object.is equality"},

		// Quoted values.
		{"a single-quoted value is masked", "unknown column 'emial' in field list", "unknown column '<*>' in field list"},
		{"a double-quoted value is masked", `key "user:42" missing`, `key "<*>" missing`},
		{"a backquoted value is masked", "field `name` is required", "field `<*>` is required"},
		{"an empty quoted value is masked", `want "" got "x"`, `want "<*>" got "<*>"`},
		{"escaped quotes stay inside their value", `got "say \"hi\"" want ""`, `got "<*>" want "<*>"`},
		{"a quoted value with spaces is masked whole", `expected "hello big world" to equal "hi"`, `expected "<*>" to equal "<*>"`},
		{"a quoted command keeps its verb", `10.1.2.3 "GET /v2/servers/detail HTTP/1.1" status: 200`, `<*> "GET <*>" status: <*>`},
		{"a quoted query keeps its shape", `query "SELECT * FROM users WHERE id = 42" failed`, `query "SELECT * FROM users WHERE id = <*>" failed`},
		{"an unclosed quote stays", `unterminated "string at end`, `unterminated "string at end`},
		{"a quote closed only on a later line stays", "expected 'a\nb' here", "expected 'a b' here"},

		// Key=value, JSON and diffs.
		{"the value of key=value is masked", "login failed user=root tty=ssh uid=0", "login failed user=<*> tty=<*> uid=<*>"},
		{"an empty value stays empty", "logname= uid=0", "logname= uid=<*>"},
		{"a value with its other form in braces is one mask", "acquire ws=WorkSource{10113} uid=1000", "acquire ws=<*> uid=<*>"},
		{"a comparison is not a key=value", "assert x == 4 and y != z", "assert x == <*> and y != z"},
		{"JSON keys stay and values are masked", `{"id": 42, "name": "alice", "active": true, "tags": ["a", "b"]}`, `{"id": <*>, "name": "<*>", "active": <*>, "tags": ["<*>"]}`},
		{"a Python dict keeps its keys", "assert {'id': 7, 'ok': False} == {'id': 8, 'ok': True}", "assert {'id': <*>, 'ok': <*>} == {'id': <*>, 'ok': <*>}"},
		{"a list of any length is one mask", "IRQs 3 4 5 6 7 10 11 12 free", "IRQs <*> free"},
		{"a value and its other form in parentheses are one mask", "sent 1024 bytes (1.0 KB) in 3 ms", "sent <*> in <*>"},
		{"a value and an empty other form are one mask", "connection from 10.0.0.1 () at 12:00", "connection from <*> at <*>"},
		{"the lines of a diff are masked", "Not equal:\n--- Expected\n+++ Actual\n@@ -1 +1 @@\n-alice\n+bob", "Not equal: --- Expected +++ Actual @@ <*> @@ <*>"},
		{"a jest diff is masked line by line", "expect(received).toEqual(expected)\n\n- Expected  - 1\n+ Received  + 1\n\n  Object {\n-   \"name\": \"alice\",\n+   \"name\": \"bob\",\n  }", "expect(received).toEqual(expected) <*> Object { <*> }"},
		{"a difflib hint line is masked", "Full diff:\n- [1, 2, 4]\n?        ^\n+ [1, 2, 3]\n?        ^", "Full diff: <*>"},
		{"a first line starting with a dash is no diff", "- not a diff", "- not a diff"},

		// Assertion messages.
		{"Go's got and want are masked", "Total() = 12.5, want 10", "Total() = <*>, want <*>"},
		{"literals after got and want are masked", "got true, want false", "got <*>, want <*>"},
		{"literals after Expected: and Received: are masked", "Expected: null Received: undefined", "Expected: <*> Received: <*>"},
		{"literals in angle brackets are masked", "expected:<true> but was:<false>", "expected:<<*>> but was:<<*>>"},
		{"words in JUnit's brackets are masked", "expected:<[alice]> but was:<[bob]>", "expected:<[<*>]> but was:<[<*>]>"},
		{"a Python assert keeps its operators", "AssertionError: assert 'abc' == 'abd'", "AssertionError: assert '<*>' == '<*>'"},
		{"a literal in prose stays", "runtime error: invalid memory address or nil pointer dereference", "runtime error: invalid memory address or nil pointer dereference"},
		{"a literal compared is masked", "assert result == None", "assert result == <*>"},

		// Names.
		{"the name after user is masked", "session opened for user alice by (uid=0)", "session opened for user <*> by (uid=<*>)"},
		{"a function word after user stays", "user is locked", "user is locked"},
		{"a name after user does not reach over punctuation", "no such user: bob", "no such user: bob"},

		// White space.
		{"runs of white space collapse to one space", "a  \t b\n\nc\r\nd", "a b c d"},
		{"leading and trailing white space is dropped", " \t\n  padded  \r\n", "padded"},
		{"the empty string stays empty", "", ""},
		{"white space alone becomes empty", " \t\r\n ", ""},

		// Stack lines, should a stack come as a message.
		{"a goroutine header keeps its state", "goroutine 42 [running]:", "goroutine <*> [running]:"},
		{"a Go file line is masked", "\t/home/runner/work/shop/cart.go:42 +0x1d", "<*>"},
		{"a Go function line keeps the function", "main.(*Cart).Add(0xc000010000, 0x3)", "main.(*Cart).Add(<*>)"},
		{"a Java frame keeps class and method", "\tat com.acme.Cart.add(Cart.java:42)", "at com.acme.Cart.add(Cart.java:<*>)"},
		{"a Python frame keeps the function", `  File "/app/cart.py", line 12, in add`, `File "<*>", line <*>, in add`},

		// What must stay.
		{"words without digits stay", "connection refused", "connection refused"},
		{"non-ASCII words stay", "café fermé: 3 tables", "café fermé: <*> tables"},
		{"a template is its own template", "expected <*>, got '<*>'", "expected <*>, got '<*>'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Template(tt.in); got != tt.want {
				t.Errorf("Template(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTemplateTruncatesLongInputAt4KiB(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "input at the limit is kept whole",
			in:   strings.Repeat("word ", 819) + "x", // 4096 bytes
			want: strings.Repeat("word ", 819) + "x",
		},
		{
			name: "words past the limit are dropped and the last one is cut",
			in:   strings.Repeat("word ", 1000), // 5000 bytes
			want: strings.Repeat("word ", 819) + "w",
		},
		{
			name: "a number past the limit is not masked",
			in:   strings.Repeat("x", maxTemplateInput) + " 12345",
			want: strings.Repeat("x", maxTemplateInput),
		},
		{
			name: "a quote closed past the limit is not masked",
			in:   strings.Repeat("x", maxTemplateInput-3) + " 'ab'",
			want: strings.Repeat("x", maxTemplateInput-3) + " 'a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Template(tt.in); got != tt.want {
				t.Errorf("Template of %d bytes gave %d bytes ending %q, want %d bytes ending %q",
					len(tt.in), len(got), tail(got), len(tt.want), tail(tt.want))
			}
		})
	}
}

// TestTemplateKeepsValidUTF8AtTheLimit guards the cut at 4 KiB: made at
// exactly 4096 bytes, it would split a multi-byte rune.
func TestTemplateKeepsValidUTF8AtTheLimit(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"a two-byte rune straddling the limit", strings.Repeat("a", maxTemplateInput-1) + "é and more"},
		{"a three-byte rune straddling the limit", strings.Repeat("a", maxTemplateInput-2) + "€ and more"},
		{"a four-byte rune straddling the limit", strings.Repeat("a", maxTemplateInput-1) + "𝄞 and more"},
		{"prose in a non-Latin script longer than the limit", strings.Repeat("ошибка ", 400)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Template(tt.in)
			if !utf8.ValidString(got) {
				t.Errorf("Template of valid UTF-8 gave invalid UTF-8 ending %q", tail(got))
			}
			if len(got) > maxTemplateInput {
				t.Errorf("Template gave %d bytes, more than the %d-byte limit", len(got), maxTemplateInput)
			}
		})
	}
}

// TestTemplateOfATemplate pins inputs whose template is a fixed point, and
// logs those known not to be: Template is not idempotent, and the log says
// where it is not.
func TestTemplateOfATemplate(t *testing.T) {
	fixed := []string{
		"expected 3, got 4",
		"can't open 'db.sqlite': permission denied",
		`got "say \"hi\"" want ""`,
		"dial tcp 10.0.0.1:5432: connect: connection refused",
		"main.(*Cart).Add(0xc000010000, 0x3)",
		"GET https://api.example.com/v1/users?id=7 failed",
	}
	for _, in := range fixed {
		once := Template(in)
		if twice := Template(once); twice != once {
			t.Errorf("Template(Template(%q)) = %q, want %q", in, twice, once)
		}
	}
	notFixed := []struct{ why, in string }{
		{"a quote that closes on a later line pairs once the newline became a space", "expected 'a\nb' here"},
		{"an apostrophe after a masked word starts a quote once the word became <*>", "got 5'x' back"},
		{"a quote closing more than 512 bytes later pairs once the words between were masked", "'" + strings.Repeat("a1b2c3d4e5 ", 50) + "'"},
		{"masks longer than their words push the template past the 4 KiB limit", strings.Repeat("1 ", maxTemplateInput/2)},
	}
	for _, c := range notFixed {
		once := Template(c.in)
		if twice := Template(once); twice != once {
			t.Logf("not idempotent (%s): %.60q -> %.60q -> %.60q", c.why, c.in, once, twice)
		}
	}
}

func tail(s string) string {
	if len(s) > 12 {
		return s[len(s)-12:]
	}
	return s
}

func FuzzTemplate(f *testing.F) {
	for _, seed := range []string{
		"",
		"expected 3, got 4",
		"bad pointer 0xdeadbeef in frame",
		"order 123e4567-e89b-12d3-a456-426614174000 not found",
		"dial tcp 10.0.0.1:5432: connect: connection refused",
		"listen tcp [::1]:8080: bind: address already in use",
		"open /tmp/TestUpload123/001/file.txt: no such file or directory",
		"GET https://api.example.com/v1/users?id=7 failed",
		"no user alice@example.com",
		"unknown column 'emial' in field list",
		`got "say \"hi\"" want ""`,
		"field `name` is required",
		"don't retry, it's fatal",
		"timed out after 1.5s at 2024-03-01T12:30:45.123Z",
		" \t\n  padded  \r\n",
		"goroutine 42 [running]:\nmain.(*Cart).Add(0xc000010000, 0x3)\n\t/home/runner/work/shop/cart.go:42 +0x1d",
		"café fermé: 3 tables",
		"'unclosed \\",
		"\"\"''``",
		"connection from 24.54.76.216 () at Fri Jun 17 07:07:00 2005",
		"lifetime <1 sec, 1024 bytes (1.0 KB) sent",
		"dial tcp proxy.cse.cuhk.edu.hk:5070: i/o timeout",
		`10.1.2.3 "GET /v2/servers?all=True&x=2 HTTP/1.1" status: 200`,
		`{"id": 42, "name": "alice", "tags": ["a", "b"]}`,
		"Not equal:\n--- Expected\n+++ Actual\n@@ -1 +1 @@\n-alice\n+bob",
		"Full diff:\n- [1, 2, 4]\n?        ^\n+ [1, 2, 3]",
		"expected:<true> but was:<false>",
		"session opened for user alice by (uid=0)",
		"addr 2607:f140:6000:8:c6b3:1ff:fecd:467f ws=WorkSource{10113}",
		`open C:\\Users\\ci\\x.txt: denied`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := Template(in)
		if utf8.ValidString(in) && !utf8.ValidString(got) {
			t.Fatalf("Template(%q) = %q: invalid UTF-8 from valid input", in, got)
		}
		if strings.ContainsAny(got, "\t\n\r") || strings.Contains(got, "  ") ||
			strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") {
			t.Fatalf("Template(%q) = %q: white space not collapsed", in, got)
		}
		if strings.ContainsAny(got, "0123456789") {
			t.Fatalf("Template(%q) = %q: a digit survived", in, got)
		}
		if again := Template(in); again != got {
			t.Fatalf("Template(%q) gave %q then %q", in, got, again)
		}
		if *checkIdempotent {
			if twice := Template(got); twice != got {
				t.Fatalf("Template(Template(%q)) = %q, want %q", in, twice, got)
			}
		}
	})
}

// message220 is a 220-byte message with most kinds of variable part.
const message220 = `dial tcp 10.1.2.3:5432: connect: connection refused while loading order 123e4567-e89b-12d3-a456-426614174000 for "alice@example.com" from /tmp/TestCheckout987/001/cart.json after 1.5s (attempt 3 of 5, can't retry it now)`

func BenchmarkTemplate(b *testing.B) {
	if len(message220) != 220 {
		b.Fatalf("message is %d bytes, want 220", len(message220))
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(message220)))
	for b.Loop() {
		Template(message220)
	}
}
