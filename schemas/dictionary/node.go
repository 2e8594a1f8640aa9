package dictionary

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	yamlparser "github.com/goccy/go-yaml/parser"
)

// This file is the strict, error-collecting reader of the YAML syntax tree.
//
// The dictionary is read from goccy/go-yaml's AST rather than with
// yaml.UnmarshalWithOptions(..., yaml.Strict()): the strict decoder stops at
// the first problem (and picks a random one of several unknown keys), while an
// engineer editing a 300-line dictionary wants every mistake at once, each with
// the line it is on. Walking the AST keeps the same strictness (every key of
// every mapping is checked against the keys the format allows) and gives each
// node's own line.

// lineError is one problem of a configuration file.
type lineError struct {
	file string
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.err) }
func (e *lineError) Unwrap() error { return e.err }

// reader holds the state of one Parse call.
type reader struct {
	file    string
	errs    []*lineError
	anchors map[string][]*ast.AnchorNode // by name, in document order
	// budget bounds the work spent expanding merge keys, so that a small
	// hostile file cannot make Parse run for long.
	budget int
}

const mergeBudget = 100_000

func (r *reader) errorf(line int, format string, args ...any) {
	if line < 1 {
		line = 1
	}
	r.errs = append(r.errs, &lineError{file: r.file, line: line, err: fmt.Errorf(format, args...)})
}

// result returns all errors joined, sorted by line (stable, so problems on
// one line keep the order in which they were found), without duplicates
// (an aliased node that is wrong is reported once per use otherwise).
func (r *reader) result() error {
	if len(r.errs) == 0 {
		return nil
	}
	sort.SliceStable(r.errs, func(i, j int) bool { return r.errs[i].line < r.errs[j].line })
	seen := make(map[string]bool, len(r.errs))
	out := make([]error, 0, len(r.errs))
	for _, e := range r.errs {
		s := e.Error()
		if seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, e)
	}
	return errors.Join(out...)
}

// parseYAML parses data into the body node of its single document. It
// reports syntax errors with their line; ok is false when there is nothing
// to check further.
func (r *reader) parseYAML(data []byte) (body ast.Node, ok bool) {
	// Duplicate keys are reported by mapping() together with everything else
	// instead of aborting the parse.
	f, err := yamlparser.ParseBytes(data, 0, yamlparser.AllowDuplicateMapKey())
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil {
			r.errs = append(r.errs, &lineError{file: r.file, line: max(ye.GetToken().Position.Line, 1),
				err: fmt.Errorf("invalid YAML: %s", ye.GetMessage())})
		} else {
			r.errs = append(r.errs, &lineError{file: r.file, line: 1, err: fmt.Errorf("invalid YAML: %w", err)})
		}
		return nil, false
	}
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		r.errorf(1, "the file is empty; a data dictionary is a mapping with the keys pipeline, kafka, store, attributes, collections and sources")
		return nil, false
	}
	if len(docs) > 1 {
		r.errorf(lineOf(docs[1].Body, 1), "a second YAML document: a data dictionary is a single document")
	}
	r.anchors = map[string][]*ast.AnchorNode{}
	r.collectAnchors(docs[0].Body, 0)
	return docs[0].Body, true
}

// collectAnchors records every anchor so that aliases can be resolved without
// expanding them into copies.
func (r *reader) collectAnchors(n ast.Node, depth int) {
	if n == nil || depth > 10_000 {
		return
	}
	switch n := n.(type) {
	case *ast.AnchorNode:
		if name := n.Name; name != nil {
			r.anchors[name.String()] = append(r.anchors[name.String()], n)
		}
		r.collectAnchors(n.Value, depth+1)
	case *ast.TagNode:
		r.collectAnchors(n.Value, depth+1)
	case *ast.MappingNode:
		for _, v := range n.Values {
			r.collectAnchors(v, depth+1)
		}
	case *ast.MappingValueNode:
		r.collectAnchors(n.Key, depth+1)
		r.collectAnchors(n.Value, depth+1)
	case *ast.MappingKeyNode:
		r.collectAnchors(n.Value, depth+1)
	case *ast.SequenceNode:
		for _, v := range n.Values {
			r.collectAnchors(v, depth+1)
		}
	}
}

// resolve strips anchors and tags and follows aliases to the anchored node:
// YAML's most recent anchor of that name before the alias.
func (r *reader) resolve(n ast.Node) ast.Node {
	for range 100 { // an alias chain is at most as long as the anchors
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			if isStrTag(x) {
				return x
			}
			n = x.Value
		case *ast.AliasNode:
			if x.Value == nil {
				return nil
			}
			var target *ast.AnchorNode
			at := offsetOf(x)
			for _, a := range r.anchors[x.Value.String()] {
				if offsetOf(a) < at {
					target = a
				}
			}
			if target == nil {
				return x // describe() explains it wherever a value was expected
			}
			n = target.Value
		default:
			return n
		}
	}
	return nil
}

func isStrTag(t *ast.TagNode) bool {
	return t.Start != nil && (t.Start.Value == "!!str" || t.Start.Value == "tag:yaml.org,2002:str")
}

func offsetOf(n ast.Node) int {
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Offset
	}
	return 0
}

// lineOf returns the line a node starts on, or def when it has none.
func lineOf(n ast.Node, def int) int {
	if n == nil {
		return def
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil && tk.Position.Line > 0 {
		return tk.Position.Line
	}
	return def
}

// entry is one key of a mapping.
type entry struct {
	key   string
	line  int // line of the key
	value ast.Node
}

// mapping returns the entries of a mapping node in file order, with merge
// keys (<<) expanded. A null node is an empty mapping. ok is false (after
// reporting) when the node is not a mapping.
func (r *reader) mapping(n ast.Node, line int, what string) (entries []entry, ok bool) {
	rn := r.resolve(n)
	line = lineOf(n, line)
	switch m := rn.(type) {
	case nil, *ast.NullNode:
		return nil, true
	case *ast.MappingValueNode:
		// Older parser versions represent a one-key mapping this way.
		return r.mapping(&ast.MappingNode{BaseNode: &ast.BaseNode{}, Start: m.GetToken(), Values: []*ast.MappingValueNode{m}}, line, what)
	case *ast.MappingNode:
		seen := map[string]int{}
		var merged []entry
		for _, mv := range m.Values {
			if _, isMerge := mv.Key.(*ast.MergeKeyNode); isMerge {
				merged = append(merged, r.mergeEntries(mv.Value, lineOf(mv.Key, line), what, map[ast.Node]bool{m: true})...)
				continue
			}
			kl := lineOf(mv.Key, line)
			key, kok := r.keyText(mv.Key, kl, what)
			if !kok {
				continue
			}
			if first, dup := seen[key]; dup {
				r.errorf(kl, "%s: duplicate key %q (first at line %d)", what, key, first)
				continue
			}
			seen[key] = kl
			entries = append(entries, entry{key: key, line: kl, value: mv.Value})
		}
		// Explicit keys override merged ones, wherever the << appears.
		for _, e := range merged {
			if _, dup := seen[e.key]; !dup {
				seen[e.key] = e.line
				entries = append(entries, e)
			}
		}
		return entries, true
	}
	r.errorf(line, "%s: want a mapping, got %s", what, describe(rn))
	return nil, false
}

// mergeEntries expands the value of a merge key: a mapping or a list of them.
func (r *reader) mergeEntries(n ast.Node, line int, what string, visiting map[ast.Node]bool) []entry {
	rn := r.resolve(n)
	if r.budget++; r.budget > mergeBudget {
		r.errorf(line, "%s: merge keys (<<) nest too deeply", what)
		return nil
	}
	switch m := rn.(type) {
	case *ast.SequenceNode:
		var out []entry
		for _, v := range m.Values {
			out = append(out, r.mergeEntries(v, line, what, visiting)...)
		}
		return out
	case *ast.MappingNode:
		if visiting[m] {
			r.errorf(line, "%s: merge key (<<) refers to a mapping that contains it", what)
			return nil
		}
		visiting[m] = true
		defer delete(visiting, m)
		var out []entry
		seen := map[string]bool{}
		for _, mv := range m.Values {
			if _, isMerge := mv.Key.(*ast.MergeKeyNode); isMerge {
				for _, e := range r.mergeEntries(mv.Value, lineOf(mv.Key, line), what, visiting) {
					if !seen[e.key] {
						seen[e.key] = true
						out = append(out, e)
					}
				}
				continue
			}
			kl := lineOf(mv.Key, line)
			key, ok := r.keyText(mv.Key, kl, what)
			if !ok || seen[key] {
				continue // duplicates are reported where the mapping itself is read
			}
			seen[key] = true
			out = append(out, entry{key: key, line: kl, value: mv.Value})
		}
		return out
	}
	r.errorf(line, "%s: merge key (<<) wants a mapping or a list of mappings, got %s", what, describe(rn))
	return nil
}

func (r *reader) keyText(k ast.Node, line int, what string) (string, bool) {
	rk := r.resolve(k)
	if mk, ok := rk.(*ast.MappingKeyNode); ok {
		rk = r.resolve(mk.Value)
	}
	switch x := rk.(type) {
	case *ast.StringNode:
		return x.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return x.GetToken().Value, true
	case *ast.TagNode:
		if s, ok := strTagText(x); ok {
			return s, true
		}
	}
	r.errorf(line, "%s: keys must be plain names, got %s", what, describe(rk))
	return "", false
}

// obj is a mapping with a fixed set of keys.
type obj struct {
	line    int     // where the mapping is defined (its key, or list item)
	entries []entry // the known keys, in file order
	unknown int     // how many keys were rejected
}

func (o obj) get(key string) (entry, bool) {
	for _, e := range o.entries {
		if e.key == key {
			return e, true
		}
	}
	return entry{}, false
}

// object reads a mapping whose keys are fixed by the format: unknown keys are
// errors.
func (r *reader) object(n ast.Node, line int, what string, allowed ...string) (obj, bool) {
	entries, ok := r.mapping(n, line, what)
	if !ok {
		return obj{line: line}, false
	}
	out := obj{line: line}
	for _, e := range entries {
		if !contains(allowed, e.key) {
			msg := fmt.Sprintf("%s: unknown key %q (allowed: %s)", what, e.key, strings.Join(allowed, ", "))
			if s := suggest(e.key, allowed); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			r.errorf(e.line, "%s", msg)
			out.unknown++
			continue
		}
		out.entries = append(out.entries, e)
	}
	return out, true
}

// choice reads a string that must be one of allowed.
func (r *reader) choice(n ast.Node, line int, what, noun string, allowed []string) (string, bool) {
	s, ok := r.str(n, line, what)
	if !ok {
		return "", false
	}
	if contains(allowed, s) {
		return s, true
	}
	msg := fmt.Sprintf("%s: unknown %s %s (want %s)", what, noun, clip(s), oneOfText(allowed))
	if g := suggest(s, allowed); g != "" {
		msg += fmt.Sprintf("; did you mean %q?", g)
	}
	r.errorf(lineOf(n, line), "%s", msg)
	return "", false
}

// list returns the items of a sequence node. A null node is an empty list.
func (r *reader) list(n ast.Node, line int, what string) ([]ast.Node, bool) {
	switch s := r.resolve(n).(type) {
	case nil, *ast.NullNode:
		return nil, true
	case *ast.SequenceNode:
		return s.Values, true
	default:
		r.errorf(lineOf(n, line), "%s: want a list, got %s", what, describe(s))
		return nil, false
	}
}

func strTagText(t *ast.TagNode) (string, bool) {
	if !isStrTag(t) {
		return "", false
	}
	switch v := t.Value.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		if v.Value != nil {
			return v.Value.Value, true
		}
		return "", true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value, true
	case *ast.NullNode:
		if tk := v.GetToken(); tk != nil && tk.Value != "null" {
			return tk.Value, true // !!str ~ is the text "~"
		}
		return "", true
	}
	return "", false
}

// scalarText returns the text of a string scalar (plain, literal block or
// !!str tagged) and the resolved node, for the caller's error message.
func (r *reader) scalarText(n ast.Node) (string, ast.Node, bool) {
	rn := r.resolve(n)
	switch x := rn.(type) {
	case *ast.StringNode:
		return x.Value, rn, true
	case *ast.LiteralNode:
		if x.Value == nil {
			return "", rn, true
		}
		return x.Value.Value, rn, true
	case *ast.TagNode:
		if s, ok := strTagText(x); ok {
			return s, rn, true
		}
	}
	return "", rn, false
}

// str reads a string scalar.
func (r *reader) str(n ast.Node, line int, what string) (string, bool) {
	s, rn, ok := r.scalarText(n)
	if !ok {
		r.errorf(lineOf(n, line), "%s: want a string, got %s", what, describe(rn))
	}
	return s, ok
}

// name reads a non-empty string.
func (r *reader) name(n ast.Node, line int, what string) (string, bool) {
	s, ok := r.str(n, line, what)
	if ok && strings.TrimSpace(s) == "" {
		r.errorf(lineOf(n, line), "%s: must not be empty", what)
		return "", false
	}
	return s, ok
}

// integer reads an integer scalar within [lo, hi].
func (r *reader) integer(n ast.Node, line int, what string, lo, hi int64) (int64, bool) {
	rn := r.resolve(n)
	line = lineOf(n, line)
	if x, ok := rn.(*ast.IntegerNode); ok {
		var v int64
		switch i := x.Value.(type) {
		case int64:
			v = i
		case uint64: // the parser's choice for non-negative literals
			if i > math.MaxInt64 {
				r.errorf(line, "%s: %d is out of range (want %d to %d)", what, i, lo, hi)
				return 0, false
			}
			v = int64(i)
		default:
			r.errorf(line, "%s: want an integer, got %s", what, describe(rn))
			return 0, false
		}
		if v < lo || v > hi {
			r.errorf(line, "%s: %d is out of range (want %d to %d)", what, v, lo, hi)
			return 0, false
		}
		return v, true
	}
	r.errorf(line, "%s: want an integer from %d to %d, got %s", what, lo, hi, describe(rn))
	return 0, false
}

// boolean reads true or false.
func (r *reader) boolean(n ast.Node, line int, what string) (bool, bool) {
	rn := r.resolve(n)
	if x, ok := rn.(*ast.BoolNode); ok {
		return x.Value, true
	}
	r.errorf(lineOf(n, line), "%s: want true or false, got %s", what, describe(rn))
	return false, false
}

// scalarKind tells how a YAML scalar was written, so that conversions to a
// decimal can use the exact text instead of a float64.
type scalar struct {
	text   string
	isNull bool
	isStr  bool
	isInt  bool
	isNum  bool // integer or float
	isBool bool
	i      int64
	b      bool
}

// scalarOf reads any scalar; ok is false (after reporting) for mappings and
// lists.
func (r *reader) scalarOf(n ast.Node, line int, what string) (scalar, bool) {
	rn := r.resolve(n)
	switch x := rn.(type) {
	case nil, *ast.NullNode:
		return scalar{text: "null", isNull: true}, true
	case *ast.StringNode, *ast.LiteralNode, *ast.TagNode:
		if s, ok := r.str(n, line, what); ok {
			return scalar{text: s, isStr: true}, true
		}
		return scalar{}, false
	case *ast.IntegerNode:
		switch i := x.Value.(type) {
		case int64:
			return scalar{text: strconv.FormatInt(i, 10), isInt: true, isNum: true, i: i}, true
		case uint64:
			if i <= math.MaxInt64 {
				return scalar{text: strconv.FormatUint(i, 10), isInt: true, isNum: true, i: int64(i)}, true
			}
			return scalar{text: strconv.FormatUint(i, 10), isNum: true}, true
		}
		return scalar{text: x.GetToken().Value, isNum: true}, true
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return scalar{text: x.GetToken().Value, isNum: true}, true
	case *ast.BoolNode:
		return scalar{text: strconv.FormatBool(x.Value), isBool: true, b: x.Value}, true
	}
	r.errorf(lineOf(n, line), "%s: want a single value, got %s", what, describe(rn))
	return scalar{}, false
}

// describe names a node's kind and value for "want X, got Y" messages.
func describe(n ast.Node) string {
	switch x := n.(type) {
	case nil, *ast.NullNode:
		return "nothing (null)"
	case *ast.StringNode:
		return "string " + clip(x.Value)
	case *ast.LiteralNode:
		if x.Value != nil {
			return "string " + clip(x.Value.Value)
		}
		return "string"
	case *ast.IntegerNode:
		return "integer " + x.GetToken().Value
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "number " + x.GetToken().Value
	case *ast.BoolNode:
		return "boolean " + strconv.FormatBool(x.Value)
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.TagNode:
		if s, ok := strTagText(x); ok {
			return "string " + clip(s)
		}
		return "tagged value"
	case *ast.AliasNode:
		name := ""
		if x.Value != nil {
			name = x.Value.String()
		}
		return "alias *" + name + ", which refers to no anchor defined before it"
	}
	return "a " + strings.ToLower(n.Type().String())
}

// clip quotes s, shortened so that a pasted blob does not flood the message.
func clip(s string) string {
	const maxLen = 60
	if r := []rune(s); len(r) > maxLen {
		return strconv.Quote(string(r[:maxLen])) + "…"
	}
	return strconv.Quote(s)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the allowed word closest to s when it is a likely typo.
func suggest(s string, allowed []string) string {
	best, bestD := "", 3
	for _, a := range allowed {
		if d := editDistance(strings.ToLower(s), a); d < bestD {
			best, bestD = a, d
		}
	}
	if bestD > 2 || (bestD == 2 && len(s) < 5) {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// oneOfText renders allowed words for messages: "a, b or c".
func oneOfText(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
