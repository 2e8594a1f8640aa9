package dictionary

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// This file reads the registry: section. As in parse_connect.go, no message
// may contain a secret's value; URLs are quoted only when they cannot hold
// one (no user information, no query).

var (
	registryKeys = []string{"urls", "tls", "basic", "bearer", "timeout"}
	basicKeys    = []string{"username", "password"}
)

func (p *parser) registry(e entry) *Registry {
	const what = "registry"
	r := &Registry{Timeout: DefaultRegistryTimeout}
	o, ok := p.quietObject(e.value, e.line, what, false, registryKeys...)
	if !ok {
		return r
	}
	scheme := ""
	if x, has := o.get("urls"); has {
		r.URLs, scheme = p.registryURLs(x)
	} else if o.unknown == 0 {
		p.errorf(e.line, "%s: missing required key \"urls\" (want a list of the registry's http:// or https:// URLs)", what)
	}
	if x, has := o.get("tls"); has {
		r.TLS = p.tls(x, what+".tls", false)
		if scheme == "http" {
			p.errorf(x.line, "%s.tls: TLS settings apply to https URLs only, and registry.urls are http; "+
				"write https:// URLs, or leave tls out", what)
		}
	}
	basic, hasBasic := o.get("basic")
	if hasBasic {
		r.Basic = p.basicAuth(basic, what+".basic")
	}
	bearer, hasBearer := o.get("bearer")
	if hasBearer {
		r.Bearer, _ = p.secret(bearer, what+".bearer")
	}
	if hasBasic && hasBearer {
		later := max(basic.line, bearer.line)
		p.errorf(later, "%s: has both basic and bearer; the registry takes one kind of credentials, or none", what)
	}
	if x, has := o.get("timeout"); has {
		if d, ok := p.duration(x, what+".timeout", "10s or 1m30s"); ok {
			r.Timeout = d
		}
	}
	return r
}

// registryURLs reads registry.urls and returns them with the scheme they
// share ("" when none is valid).
func (p *parser) registryURLs(e entry) (urls []string, scheme string) {
	const what = "registry.urls"
	line := lineOf(e.value, e.line)
	switch rn := p.resolve(e.value).(type) {
	case *ast.StringNode, *ast.LiteralNode:
		// Not quoted: a URL may carry a password (user:password@host).
		p.errorf(line, "%s: want a list, got a string; write urls: [https://...], even for one URL", what)
		return nil, ""
	case nil, *ast.NullNode:
		p.errorf(line, "%s: want at least one URL, got %s", what, kindOf(rn))
		return nil, ""
	}
	items, ok := p.list(e.value, e.line, what)
	if !ok {
		return nil, ""
	}
	if len(items) == 0 {
		p.errorf(line, "%s: want at least one URL, got an empty list", what)
		return nil, ""
	}
	seen := map[string]int{}
	firstWhat := ""
	for i, it := range items {
		iw := fmt.Sprintf("%s[%d]", what, i)
		il := lineOf(it, e.line)
		switch p.resolve(it).(type) {
		case *ast.MappingNode, *ast.MappingValueNode:
			// host:port inside a flow mapping ({urls: [http://h:8081]})
			// reads as a key and a value.
			p.errorf(il, "%s: want a URL, got a mapping; within { } write a URL with a port in quotes", iw)
			continue
		}
		s, ok := p.quietStr(it, il, iw)
		if !ok {
			continue
		}
		u, why := checkRegistryURL(s)
		if why != "" {
			p.errorf(il, "%s: %s", iw, why)
			continue
		}
		key := strings.TrimRight(u, "/")
		if first, dup := seen[key]; dup {
			p.errorf(il, "%s: URL %s is listed twice (first at line %d)", iw, clip(u), first)
			continue
		}
		seen[key] = il
		s2, _, _ := strings.Cut(u, "://")
		switch {
		case scheme == "":
			scheme, firstWhat = s2, iw
		case s2 != scheme:
			p.errorf(il, "%s: %s is %s while %s is %s; write every URL with the same scheme "+
				"(credentials must not go to one of them in plaintext)", iw, clip(u), s2, firstWhat, scheme)
			continue
		}
		urls = append(urls, u)
	}
	return urls, scheme
}

// checkRegistryURL returns the URL with its scheme in lower case, or why it
// is not a usable registry URL (a sentence that starts after "urls[i]: ").
func checkRegistryURL(s string) (string, string) {
	const want = "want scheme://host[:port][/path], e.g. https://registry.example.com:8081"
	switch {
	case strings.TrimSpace(s) == "":
		return "", "must not be empty"
	case strings.Contains(s, "@"):
		return "", "has user information (user:password@) in it; write the URL without it and set registry.basic " +
			"(the URL is not shown, since it may hold a password)"
	case strings.ContainsAny(s, "?#"):
		return "", "has a query (?...) or a fragment (#...); " + want + " (the URL is not shown, since a query may hold a token)"
	}
	sch, rest, found := strings.Cut(s, "://")
	if !found {
		return "", clip(s) + " has no scheme; write http:// or https:// before it"
	}
	sch = strings.ToLower(sch)
	if sch != "http" && sch != "https" {
		return "", fmt.Sprintf("%s has scheme %q; want http or https", clip(s), sch)
	}
	s = sch + "://" + rest
	u, err := url.Parse(s)
	if err != nil {
		// url.Parse quotes the whole URL; its cause alone is enough.
		cause := err
		if ue, ok := errors.AsType[*url.Error](err); ok {
			cause = ue.Err
		}
		return "", fmt.Sprintf("%s is not a valid URL: %v; %s", clip(s), cause, want)
	}
	host := u.Hostname()
	switch {
	case host == "":
		return "", fmt.Sprintf("%s has no host; %s", clip(s), want)
	case strings.HasSuffix(u.Host, ":"):
		return "", fmt.Sprintf("%s has an empty port (want a number from 1 to 65535, or no colon)", clip(s))
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", fmt.Sprintf("%s has an invalid port (want a number from 1 to 65535)", clip(s))
		}
	}
	if strings.HasPrefix(u.Host, "[") {
		if ip := net.ParseIP(host); ip == nil || !strings.Contains(host, ":") {
			return "", fmt.Sprintf("%s has an invalid IPv6 address %q", clip(s), host)
		}
	} else if len(host) > 253 || !hostRE.MatchString(host) {
		return "", fmt.Sprintf("%s has an invalid host name %q", clip(s), host)
	}
	return s, ""
}

func (p *parser) basicAuth(e entry, what string) *BasicAuth {
	o, ok := p.quietObject(e.value, e.line, what, false, basicKeys...)
	if !ok {
		return nil
	}
	b := &BasicAuth{}
	var missing []string
	if x, has := o.get("username"); has {
		b.Username, _ = p.username(x, what+".username")
	} else {
		missing = append(missing, `"username"`)
	}
	if x, has := o.get("password"); has {
		b.Password, _ = p.secret(x, what+".password")
	} else {
		missing = append(missing, `"password"`)
	}
	if len(missing) > 0 && o.unknown == 0 {
		noun := "key"
		if len(missing) > 1 {
			noun = "keys"
		}
		p.errorf(e.line, "%s: missing required %s %s (the password is a secret: {env: NAME} or {file: PATH})",
			what, noun, strings.Join(missing, " and "))
	}
	return b
}
