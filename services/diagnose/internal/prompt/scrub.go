package prompt

import (
	"regexp"
	"strings"
)

// Placeholders put in place of what Scrub removes.
const (
	Redacted      = "[REDACTED]"
	RedactedEmail = "[EMAIL]"
	redactedKey   = "[REDACTED PRIVATE KEY]"
)

// The patterns below are read-only once compiled. Scrub is not a hot path
// (one prompt per diagnosis), so clarity wins over speed.
var (
	// privateKeyBlock matches PEM private keys, and one cut off before its
	// END line, which a clipped message can produce.
	privateKeyBlock = regexp.MustCompile(`-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\z)`)
	// authHeader matches the credentials of an Authorization header (or
	// setting), keeping the scheme.
	authHeader = regexp.MustCompile(`(?i)(\b(?:proxy-)?authorization["']?[ \t]*[:=][ \t]*["']?)((?:bearer|basic|digest|token|negotiate|aws4-hmac-sha256)[ \t]+)?([^\s"',;]+)`)
	// bearer matches a bearer token outside a header, as in a curl command
	// line or a log.
	bearer = regexp.MustCompile(`(?i)\b(bearer[ \t]+)([A-Za-z0-9\-._~+/]{8,}=*)`)
	// urlUserinfo matches the user and password of a URL, as in
	// postgres://user:pass@host/db or https://token@github.com.
	urlUserinfo = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.\-]*://)([^/?#\s@"'<>]+)@`)
	// knownToken matches credentials by their documented prefixes: GitHub,
	// AWS access key ids, Slack, OpenAI and Anthropic, Stripe, Google API
	// keys, GitLab and npm tokens.
	knownToken = regexp.MustCompile(`\b(?:` +
		`gh[pousr]_[A-Za-z0-9]{20,}` +
		`|github_pat_[A-Za-z0-9_]{20,}` +
		`|(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}` +
		`|xox[abposr]-[A-Za-z0-9\-]{10,}` +
		`|xapp-[A-Za-z0-9\-]{10,}` +
		`|sk-[A-Za-z0-9_\-]{16,}` +
		`|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}` +
		`|AIza[0-9A-Za-z_\-]{35}` +
		`|glpat-[A-Za-z0-9_\-]{20,}` +
		`|npm_[A-Za-z0-9]{36}` +
		`)`)
	// jwt matches a JSON Web Token: base64url header and payload, both JSON
	// objects (so starting "eyJ"), and a signature.
	jwt = regexp.MustCompile(`\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*`)
	// secretAssignment matches name=value and name: value where the name
	// says it holds a secret: key, token, secret, password and the like,
	// alone or at the end of a longer name (api_key, X-Auth-Token,
	// "db_password"). The value is quoted or runs to a delimiter.
	secretAssignment = regexp.MustCompile(`(?i)\b((?:[a-z0-9]+[_.\-])*(?:api[_\-]?key|apikey|access[_\-]?key|secret[_\-]?key|private[_\-]?key|key|token|secret|passwd|password|pwd|credentials?|auth)|(?:[a-z0-9]+[_.\-])+pass)` +
		`(["']?[ \t]*[:=][ \t]*)` +
		`("[^"\n]*"|'[^'\n]*'|[^\s,;&"'<>{}()\[\]]+)`)
	// email matches an e-mail address; the top-level domain must be letters,
	// which keeps module@v1.2.3 and Class@1a2b out.
	email = regexp.MustCompile(`(?i)\b[a-z0-9._%+\-]+@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,}\b`)
)

// Scrub removes secrets and personal data from text bound for a prompt or
// a report: private key blocks, HTTP credentials, user and password in
// URLs (postgres://user:pass@host keeps its scheme and host), tokens and
// keys with known prefixes (GitHub, AWS, Slack, OpenAI, Anthropic and
// others), JSON Web Tokens, values assigned to names such as key, token,
// secret or password, and e-mail addresses. It errs on the side of
// removing too much.
func Scrub(s string) string {
	if s == "" {
		return s
	}
	s = privateKeyBlock.ReplaceAllString(s, redactedKey)
	s = authHeader.ReplaceAllString(s, "${1}${2}"+Redacted)
	s = bearer.ReplaceAllString(s, "${1}"+Redacted)
	s = urlUserinfo.ReplaceAllString(s, "${1}"+Redacted+"@")
	s = knownToken.ReplaceAllString(s, Redacted)
	s = jwt.ReplaceAllString(s, Redacted)
	s = secretAssignment.ReplaceAllStringFunc(s, func(m string) string {
		sub := secretAssignment.FindStringSubmatch(m)
		name, sep, value := sub[1], sub[2], sub[3]
		if strings.Contains(value, Redacted) || strings.Trim(value, `"'`) == "" || authSchemeName(value) {
			// Already masked, empty, or the scheme of a credential masked
			// above ("auth: Bearer [REDACTED]").
			return m
		}
		switch value[0] {
		case '"', '\'':
			return name + sep + value[:1] + Redacted + value[:1]
		}
		return name + sep + Redacted
	})
	s = email.ReplaceAllString(s, RedactedEmail)
	return s
}

// authSchemeName reports whether w names an HTTP authentication scheme.
func authSchemeName(w string) bool {
	switch strings.ToLower(w) {
	case "bearer", "basic", "digest", "token", "negotiate":
		return true
	}
	return false
}
