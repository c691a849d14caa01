// Package githubtest is a fake GitHub for tests: an httptest server that
// answers the issues endpoints of the REST API like GitHub does, keeps the
// issues it was asked to make, and records every request.
package githubtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// Request is one request the fake received.
type Request struct {
	Method, Path string
	Body         map[string]any
}

// Issue is an issue as the fake keeps it.
type Issue struct {
	Number   int
	Title    string
	Body     string
	State    string
	Labels   []string
	Comments []string
}

// Answer is a canned answer served instead of handling a request.
type Answer struct {
	Status int
	Header map[string]string
	Body   string
}

// Server is the fake GitHub.
type Server struct {
	*httptest.Server
	Token string
	Repo  string

	mu       sync.Mutex
	requests []Request
	issues   map[int]*Issue
	queue    []Answer
}

// Start starts a fake serving repo ("owner/name") to token.
func Start(t testing.TB, repo, token string) *Server {
	s := &Server{Token: token, Repo: repo, issues: map[int]*Issue{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Then makes the next requests get these answers, one each, in order.
func (s *Server) Then(answers ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, answers...)
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Issues returns a copy of the issues, by number.
func (s *Server) Issues() map[int]Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int]Issue{}
	for n, is := range s.issues {
		c := *is
		c.Labels, c.Comments = slices.Clone(is.Labels), slices.Clone(is.Comments)
		out[n] = c
	}
	return out
}

var (
	issuesPath   = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/issues$`)
	issuePath    = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/issues/(\d+)$`)
	commentsPath = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$`)
	labelsPath   = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/issues/(\d+)/labels$`)
	labelPath    = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/issues/(\d+)/labels/([^/]+)$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var body map[string]any
	// A DELETE comes without a body; anything else sends JSON.
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil && (r.Method != http.MethodDelete || !errors.Is(err, io.EOF)) {
		answer(w, http.StatusBadRequest, `{"message":"Problems parsing JSON"}`)
		return
	}
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Body: body})
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		answer(w, http.StatusUnauthorized, `{"message":"Bad credentials"}`)
		return
	}
	if len(s.queue) > 0 {
		a := s.queue[0]
		s.queue = s.queue[1:]
		for k, v := range a.Header {
			w.Header().Set(k, v)
		}
		answer(w, a.Status, a.Body)
		return
	}
	repoOf := func(m []string) bool { return m != nil && m[1] == s.Repo }
	issue := func(m []string) *Issue {
		n, _ := strconv.Atoi(m[2])
		return s.issues[n]
	}
	switch m := issuesPath.FindStringSubmatch(r.URL.Path); {
	case r.Method == http.MethodPost && repoOf(m):
		n := len(s.issues) + 1
		is := &Issue{Number: n, Title: str(body["title"]), Body: str(body["body"]), State: "open", Labels: strs(body["labels"])}
		s.issues[n] = is
		answer(w, http.StatusCreated, fmt.Sprintf(`{"number":%d,"html_url":"%s/%s/issues/%d","state":"open"}`, n, "https://github.example", s.Repo, n))
		return
	}
	if m := issuePath.FindStringSubmatch(r.URL.Path); r.Method == http.MethodPatch && repoOf(m) && issue(m) != nil {
		is := issue(m)
		if st := str(body["state"]); st == "open" || st == "closed" {
			is.State = st
		}
		answer(w, http.StatusOK, fmt.Sprintf(`{"number":%d,"state":%q}`, is.Number, is.State))
		return
	}
	if m := commentsPath.FindStringSubmatch(r.URL.Path); r.Method == http.MethodPost && repoOf(m) && issue(m) != nil {
		is := issue(m)
		is.Comments = append(is.Comments, str(body["body"]))
		answer(w, http.StatusCreated, fmt.Sprintf(`{"id":%d}`, len(is.Comments)))
		return
	}
	if m := labelsPath.FindStringSubmatch(r.URL.Path); r.Method == http.MethodPost && repoOf(m) && issue(m) != nil {
		is := issue(m)
		for _, l := range strs(body["labels"]) {
			if !slices.Contains(is.Labels, l) {
				is.Labels = append(is.Labels, l)
			}
		}
		answer(w, http.StatusOK, `[]`)
		return
	}
	// The label's name is one path segment: a "/" in it comes as %2F.
	if m := labelPath.FindStringSubmatch(r.URL.EscapedPath()); r.Method == http.MethodDelete && repoOf(m) && issue(m) != nil {
		is := issue(m)
		name, err := url.PathUnescape(m[3])
		if i := slices.Index(is.Labels, name); err == nil && i >= 0 {
			is.Labels = slices.Delete(is.Labels, i, i+1)
			answer(w, http.StatusOK, `[]`)
			return
		}
		answer(w, http.StatusNotFound, `{"message":"Label does not exist","documentation_url":"https://docs.github.com/rest"}`)
		return
	}
	answer(w, http.StatusNotFound, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`)
}

func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strs(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		out = append(out, str(x))
	}
	return out
}
