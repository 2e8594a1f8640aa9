package dictionary

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// This file reads the connection sections, kafka: and store:, and the
// secrets they name. Nothing here reads an environment variable or a file:
// secrets are read when they are used (Secret.Reveal), and the code that
// connects reports a missing file.
//
// No message written here may contain a secret's value. Where a secret, or a
// mapping that holds secrets, is expected, a wrong value is described by its
// kind only ("got a string"), never quoted, and the keys of a secret mapping
// are only echoed when they are a likely typo of a known key.

var (
	kafkaKeys  = []string{"brokers", "client_id", "tls", "sasl"}
	tlsKeys    = []string{"ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"}
	saslKeys   = []string{"mechanism", "username", "password", "token", "aws"}
	awsKeys    = []string{"access_key_id", "secret_access_key", "session_token"}
	storeKeys  = []string{"encryption_key", "key_rotation"}
	secretKeys = []string{"env", "file", "value", "insecure_plaintext"}

	mechNames = []string{MechPlain, MechScramSHA256, MechScramSHA512, MechOAuthBearer, MechAWSMSKIAM}

	// saslKeyMechs tells which mechanisms take each credential key. username,
	// password and token are required by the mechanisms listed; aws is
	// optional.
	saslKeyMechs = map[string][]string{
		"username": {MechPlain, MechScramSHA256, MechScramSHA512},
		"password": {MechPlain, MechScramSHA256, MechScramSHA512},
		"token":    {MechOAuthBearer},
		"aws":      {MechAWSMSKIAM},
	}
)

// secretForms is how every message about a malformed secret ends.
const secretForms = "write {env: NAME} or {file: PATH} (or {value: ..., insecure_plaintext: true} to insist)"

// envNameRE is what the format accepts as an environment variable name.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// hostRE is a DNS name or an IPv4 address (IPv6 addresses are bracketed and
// checked with net.ParseIP). Underscores are allowed: internal names such as
// Docker Compose service names use them.
var hostRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)

// --- kafka ---

func (p *parser) kafka(e entry) {
	k := Kafka{ClientID: "profiled"}
	o, _ := p.object(e.value, e.line, "kafka", kafkaKeys...)
	if x, has := o.get("brokers"); has {
		k.Brokers = p.brokers(x)
	}
	if x, has := o.get("client_id"); has {
		if s, ok := p.name(x.value, x.line, "kafka.client_id"); ok {
			k.ClientID = s
		}
	}
	if x, has := o.get("tls"); has {
		k.TLS = p.tls(x, "kafka.tls", true)
	}
	if x, has := o.get("sasl"); has {
		k.SASL = p.sasl(x)
	}
	p.f.Kafka = k
}

func (p *parser) brokers(e entry) []string {
	items, _ := p.list(e.value, e.line, "kafka.brokers")
	var out []string
	seen := map[string]int{}
	for i, it := range items {
		iw := fmt.Sprintf("kafka.brokers[%d]", i)
		il := lineOf(it, e.line)
		s, ok := p.name(it, il, iw)
		if !ok {
			continue
		}
		if why := checkHostPort(s); why != "" {
			p.errorf(il, "%s: %s %s", iw, clip(s), why)
			continue
		}
		if first, dup := seen[s]; dup {
			p.errorf(il, "%s: broker %s is listed twice (first at line %d)", iw, clip(s), first)
			continue
		}
		seen[s] = il
		out = append(out, s)
	}
	return out
}

// checkHostPort says what is wrong with a broker address (completing a
// sentence that starts with the quoted address), or "" when it is a valid
// host:port.
func checkHostPort(s string) string {
	const notHostPort = "is not host:port (want e.g. broker1:9092, or [::1]:9092 for an IPv6 address)"
	const badPort = "has an invalid port (want a number from 1 to 65535)"
	host, port, err := net.SplitHostPort(s)
	switch {
	case strings.Contains(s, "://"):
		return "has a scheme; write host:port such as broker1:9092 (TLS is set with kafka.tls)"
	case strings.Contains(s, ","):
		return "holds several addresses; write one broker per list item"
	case err != nil:
		return notHostPort
	case host == "":
		return "has no host (want host:port such as broker1:9092)"
	case port == "" || strings.Trim(port, "0123456789") != "" || len(port) > 5:
		return badPort
	}
	n := 0
	for _, c := range port {
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 65535 {
		return badPort
	}
	bracketed := strings.HasPrefix(s, "[")
	if ip := net.ParseIP(host); ip != nil && strings.Contains(host, ":") {
		if !bracketed {
			return notHostPort
		}
		return ""
	}
	if bracketed || len(host) > 253 || !hostRE.MatchString(host) {
		return fmt.Sprintf("has an invalid host name %q", host)
	}
	return ""
}

// tls reads TLS settings (kafka.tls, registry.tls). With bools, true and
// false are also accepted (TLS on with the defaults, off); without, only a
// mapping is, since the URLs' scheme already says whether TLS is on.
func (p *parser) tls(e entry, what string, bools bool) *TLS {
	switch x := p.resolve(e.value).(type) {
	case *ast.BoolNode:
		if !bools {
			p.errorf(lineOf(e.value, e.line), "%s: want a mapping of TLS settings, got %s; "+
				"https:// URLs turn TLS on, and tls only adjusts it (ca_file, cert_file/key_file, server_name)", what, describe(x))
			return nil
		}
		if x.Value {
			return &TLS{}
		}
		return nil // tls: false is the same as no tls key
	case nil, *ast.NullNode, *ast.MappingNode, *ast.MappingValueNode:
	default:
		if !bools {
			p.errorf(lineOf(e.value, e.line), "%s: want a mapping of TLS settings, got %s", what, describe(x))
		} else {
			p.errorf(lineOf(e.value, e.line), "%s: want true, false or a mapping of TLS settings, got %s", what, describe(x))
		}
		return nil
	}
	t := &TLS{}
	o, _ := p.object(e.value, e.line, what, tlsKeys...)
	files := map[string]*string{"ca_file": &t.CAFile, "cert_file": &t.CertFile, "key_file": &t.KeyFile, "server_name": &t.ServerName}
	for _, x := range o.entries {
		if dst := files[x.key]; dst != nil {
			if s, ok := p.name(x.value, x.line, what+"."+x.key); ok {
				*dst = s
			}
		}
	}
	if x, has := o.get("insecure_skip_verify"); has {
		t.InsecureSkipVerify, _ = p.boolean(x.value, x.line, what+".insecure_skip_verify")
	}
	cert, hasCert := o.get("cert_file")
	key, hasKey := o.get("key_file")
	switch {
	case hasCert && !hasKey:
		p.errorf(cert.line, "%s.cert_file: a client certificate needs its key_file too (mTLS takes both or neither)", what)
	case hasKey && !hasCert:
		p.errorf(key.line, "%s.key_file: a client key needs its cert_file too (mTLS takes both or neither)", what)
	}
	return t
}

func (p *parser) sasl(e entry) *SASL {
	const what = "kafka.sasl"
	o, ok := p.quietObject(e.value, e.line, what, false, saslKeys...)
	if !ok {
		return nil
	}
	s := &SASL{}
	if x, has := o.get("mechanism"); has {
		s.Mechanism, _ = p.mechanism(x, what+".mechanism")
	} else if o.unknown == 0 {
		p.errorf(e.line, "%s: missing required key \"mechanism\" (want %s)", what, oneOfText(mechNames))
	}
	mech := s.Mechanism // "" when missing or wrong: then only the values are checked
	for _, key := range []string{"username", "password", "token", "aws"} {
		kw := what + "." + key
		takes := contains(saslKeyMechs[key], mech)
		x, has := o.get(key)
		switch {
		case has && mech != "" && !takes:
			p.errorf(x.line, "%s: mechanism %s takes no %s (%s is for %s)", kw, mech, key, key, oneOfText(saslKeyMechs[key]))
		case has && key == "username":
			s.Username, _ = p.username(x, kw)
		case has && key == "password":
			s.Password, _ = p.secret(x, kw)
		case has && key == "token":
			s.Token, _ = p.secret(x, kw)
		case has && key == "aws":
			s.AWS = p.aws(x, kw)
		case !has && takes && key != "aws" && o.unknown == 0:
			hint := ""
			if key != "username" {
				hint = " (a secret: {env: NAME} or {file: PATH})"
			}
			p.errorf(e.line, "%s: missing required key %q for mechanism %s%s", what, key, mech, hint)
		}
	}
	return s
}

// mechanism reads a SASL mechanism in any case and returns its canonical
// (upper-case) name.
func (p *parser) mechanism(x entry, what string) (string, bool) {
	s, ok := p.name(x.value, x.line, what)
	if !ok {
		return "", false
	}
	if up := strings.ToUpper(s); contains(mechNames, up) {
		return up, true
	}
	msg := fmt.Sprintf("%s: unknown mechanism %s (want %s)", what, clip(s), oneOfText(mechNames))
	lower := make([]string, len(mechNames))
	for i, m := range mechNames {
		lower[i] = strings.ToLower(m)
	}
	if g := suggest(s, lower); g != "" {
		msg += fmt.Sprintf("; did you mean %q?", strings.ToUpper(g))
	}
	p.errorf(lineOf(x.value, x.line), "%s", msg)
	return "", false
}

func (p *parser) username(x entry, what string) (string, bool) {
	switch rn := p.resolve(x.value).(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		p.errorf(lineOf(x.value, x.line), "%s: want a plain string, got %s (a username is not secret, "+
			"so it is written in the file rather than read from the environment or a file)", what, kindOf(rn))
		return "", false
	}
	return p.name(x.value, x.line, what)
}

func (p *parser) aws(e entry, what string) *AWS {
	o, ok := p.quietObject(e.value, e.line, what, true, awsKeys...)
	if !ok {
		return nil
	}
	a := &AWS{}
	var missing []string
	for _, k := range []struct {
		key      string
		dst      *Secret
		optional bool
	}{
		{"access_key_id", &a.AccessKeyID, false},
		{"secret_access_key", &a.SecretAccessKey, false},
		{"session_token", &a.SessionToken, true},
	} {
		if x, has := o.get(k.key); has {
			*k.dst, _ = p.secret(x, what+"."+k.key)
		} else if !k.optional {
			missing = append(missing, fmt.Sprintf("%q", k.key))
		}
	}
	if len(missing) > 0 && o.unknown == 0 {
		noun := "key"
		if len(missing) > 1 {
			noun = "keys"
		}
		p.errorf(e.line, "%s: missing required %s %s (leave aws out to use the standard AWS environment variables)",
			what, noun, strings.Join(missing, " and "))
	}
	return a
}

// --- store ---

func (p *parser) store(e entry) {
	const what = "store"
	var st Store
	o, _ := p.quietObject(e.value, e.line, what, false, storeKeys...)
	key, hasKey := o.get("encryption_key")
	if hasKey {
		st.EncryptionKey, _ = p.secret(key, what+".encryption_key")
	}
	if x, has := o.get("key_rotation"); has {
		if !hasKey {
			p.errorf(x.line, "%s.key_rotation: key rotation applies to encryption at rest; set %s.encryption_key too, or leave key_rotation out", what, what)
		} else if d, ok := p.duration(x, what+".key_rotation", "240h or 90m"); ok {
			st.KeyRotation = d
		}
	}
	p.f.Store = st
}

// duration reads a positive Go duration; examples completes "such as" in
// messages.
func (p *parser) duration(x entry, what, examples string) (time.Duration, bool) {
	line := lineOf(x.value, x.line)
	rn := p.resolve(x.value)
	var s string
	switch n := rn.(type) {
	case *ast.StringNode:
		s = n.Value
	default:
		p.errorf(line, "%s: want a duration such as %s, got %s", what, examples, describe(rn))
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		hint := ""
		if strings.HasSuffix(s, "d") {
			hint = "; Go durations have no days: 10 days is 240h"
		}
		p.errorf(line, "%s: %s is not a duration (want e.g. %s%s)", what, clip(s), examples, hint)
		return 0, false
	}
	if d <= 0 {
		p.errorf(line, "%s: must be greater than zero, got %s", what, clip(s))
		return 0, false
	}
	return d, true
}

// --- secrets ---

// secret reads a Secret: {env: NAME}, {file: PATH} or {value: ...,
// insecure_plaintext: true}. No message it writes contains the value, nor
// any other text that might be the secret pasted in the wrong place.
func (p *parser) secret(e entry, what string) (Secret, bool) {
	line := lineOf(e.value, e.line)
	switch rn := p.resolve(e.value).(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
	case nil, *ast.NullNode, *ast.SequenceNode, *ast.AliasNode:
		p.errorf(line, "%s: want a secret, got %s; %s", what, kindOf(rn), secretForms)
		return Secret{}, false
	default: // a scalar: most likely the secret itself
		p.errorf(line, "%s: secrets are not read from the configuration file; %s", what, secretForms)
		return Secret{}, false
	}
	entries, ok := p.mapping(e.value, e.line, what)
	if !ok {
		return Secret{}, false
	}
	var (
		src      []entry // env, file, value: exactly one is wanted
		insecure *entry
		unknown  bool
		good     = true
		sec      Secret
		literal  string
	)
	for _, x := range entries {
		kw := what + "." + x.key
		switch x.key {
		case "env":
			src = append(src, x)
			if s, ok := p.quietStr(x.value, x.line, kw); !ok {
				good = false
			} else if !envNameRE.MatchString(s) {
				// Not quoted: the secret itself may have been pasted here.
				p.errorf(lineOf(x.value, x.line), "%s: not a valid environment variable name (want letters, digits and _, "+
					"not starting with a digit); to give the secret itself write {value: ..., insecure_plaintext: true}", kw)
				good = false
			} else {
				sec.Env = s
			}
		case "file":
			src = append(src, x)
			if s, ok := p.quietStr(x.value, x.line, kw); !ok {
				good = false
			} else if strings.TrimSpace(s) == "" {
				p.errorf(lineOf(x.value, x.line), "%s: must not be empty", kw)
				good = false
			} else {
				sec.File = s
			}
		case "value":
			src = append(src, x)
			if s, ok := p.quietStr(x.value, x.line, kw); !ok {
				good = false
			} else if s == "" {
				p.errorf(lineOf(x.value, x.line), "%s: must not be empty", kw)
				good = false
			} else {
				literal = s
			}
		case "insecure_plaintext":
			insecure = &x
		default:
			unknown = true
			p.unknownSecretKey(x, what, secretKeys)
			good = false
		}
	}
	insecureOK := false
	if insecure != nil {
		rn := p.resolve(insecure.value)
		if b, isBool := rn.(*ast.BoolNode); isBool {
			insecureOK = b.Value
		} else {
			p.errorf(lineOf(insecure.value, insecure.line), "%s.insecure_plaintext: want true or false, got %s", what, kindOf(rn))
			good = false
			insecureOK = true // reported; do not also complain that it is missing
		}
	}
	switch {
	case len(src) > 1:
		p.errorf(src[1].line, "%s: has both %s and %s; a secret comes from exactly one of env, file or value", what, src[0].key, src[1].key)
		return Secret{}, false
	case len(src) == 0:
		if !unknown {
			p.errorf(line, "%s: want one of env, file or value; %s", what, secretForms)
		}
		return Secret{}, false
	case insecure != nil && src[0].key != "value":
		p.errorf(insecure.line, "%s.insecure_plaintext: goes with value only; an %s secret is not in the file", what, src[0].key)
		return Secret{}, false
	case src[0].key == "value" && !insecureOK:
		p.errorf(src[0].line, "%s: an inline value is only accepted with insecure_plaintext: true beside it; "+
			"prefer {env: NAME} or {file: PATH}, which keep the secret out of the configuration file", what)
		return Secret{}, false
	case !good:
		return Secret{}, false
	case src[0].key == "value":
		return LiteralSecret(literal), true
	}
	return sec, true
}

// nearest returns the word of words closest to s (ignoring case) when it is
// at most maxD edits away.
func nearest(s string, words []string, maxD int) string {
	best, bestD := "", maxD+1
	for _, w := range words {
		if d := editDistance(strings.ToLower(s), w); d < bestD {
			best, bestD = w, d
		}
	}
	return best
}

// quietStr reads a string without quoting what it found instead.
func (p *parser) quietStr(n ast.Node, line int, what string) (string, bool) {
	s, rn, ok := p.scalarText(n)
	if !ok {
		p.errorf(lineOf(n, line), "%s: want a string (in quotes if it looks like a number or a boolean), got %s", what, kindOf(rn))
	}
	return s, ok
}

// quietObject is object for mappings that hold secrets: a value that is not
// a mapping is described by its kind only. With hideKeys (mappings whose
// every value is a secret), an unknown key is only named when it is a likely
// typo of an allowed one.
func (p *parser) quietObject(n ast.Node, line int, what string, hideKeys bool, allowed ...string) (obj, bool) {
	switch rn := p.resolve(n).(type) {
	case nil, *ast.NullNode, *ast.MappingNode, *ast.MappingValueNode:
	default:
		p.errorf(lineOf(n, line), "%s: want a mapping, got %s", what, kindOf(rn))
		return obj{line: line}, false
	}
	if !hideKeys {
		return p.object(n, line, what, allowed...)
	}
	entries, ok := p.mapping(n, line, what)
	out := obj{line: line}
	for _, e := range entries {
		if contains(allowed, e.key) {
			out.entries = append(out.entries, e)
			continue
		}
		out.unknown++
		p.unknownSecretKey(e, what, allowed)
	}
	return out, ok
}

// keyLikeRE matches snake_case names with at least one underscore, such as
// secret_key: a mistaken key, never a credential.
var keyLikeRE = regexp.MustCompile(`^[a-z]+(_[a-z0-9]+)+$`)

// unknownSecretKey reports an unknown key of a mapping of secrets. A key
// within two edits of an allowed one, or written in snake_case, is a
// mistaken key name, not a secret, and is named; any other is not.
func (p *parser) unknownSecretKey(e entry, what string, allowed []string) {
	if g := nearest(e.key, allowed, 2); g != "" {
		p.errorf(e.line, "%s: unknown key %q (allowed: %s); did you mean %q?", what, e.key, strings.Join(allowed, ", "), g)
		return
	}
	if keyLikeRE.MatchString(e.key) {
		p.errorf(e.line, "%s: unknown key %q (allowed: %s)", what, e.key, strings.Join(allowed, ", "))
		return
	}
	p.errorf(e.line, "%s: unknown key (allowed: %s; the key is not shown in case it is the secret itself)",
		what, strings.Join(allowed, ", "))
}

// kindOf names a node's kind without its value.
func kindOf(n ast.Node) string {
	switch x := n.(type) {
	case nil, *ast.NullNode:
		return "nothing (null)"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.TagNode:
		if isStrTag(x) {
			return "a string"
		}
		return "a tagged value"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.AliasNode:
		return "an alias that refers to no anchor defined before it"
	}
	return "a " + strings.ToLower(n.Type().String())
}
