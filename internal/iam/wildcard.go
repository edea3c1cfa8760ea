package iam

import (
	"strings"
	"unicode/utf8"
)

// pattern is a compiled IAM wildcard pattern: '*' matches any run of
// characters (including '/' and ':'), '?' matches exactly one character.
// There is no escape syntax.
type pattern struct {
	s    string
	wild bool // s contains '*' or '?'
}

func compilePattern(s string) pattern {
	for i := 0; i < len(s); i++ {
		if s[i] == '*' || s[i] == '?' {
			return pattern{s: s, wild: true}
		}
	}
	return pattern{s: s}
}

// match reports whether s matches p. With fold set, ASCII letters compare
// case-insensitively (IAM action names are ASCII).
func (p pattern) match(s string, fold bool) bool {
	if !p.wild {
		if fold {
			return equalFoldASCII(p.s, s)
		}
		return p.s == s
	}
	return wildcardMatch(p.s, s, fold)
}

// wildcardMatch is the classic greedy two-pointer matcher. On a mismatch it
// backtracks only to the most recent '*', and lets that star absorb one more
// character of s. Earlier stars never need revisiting, because a later star
// can absorb anything an earlier one could have; so the worst case is
// O(len(p)*len(s)) with no exponential blow-up on patterns like "*a*a*a*b".
//
// '?' and star extension step over whole UTF-8 characters (an invalid byte
// counts as one character), so "?" means one character, not one byte.
// Literals are compared byte by byte, which is equivalent because both
// pointers always sit on character boundaries when a literal starts.
func wildcardMatch(p, s string, fold bool) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch c := p[pi]; c {
			case '*':
				star, mark = pi, si
				pi++
				continue
			case '?':
				si += charLen(s[si:])
				pi++
				continue
			default:
				if c == s[si] || (fold && lowerASCII(c) == lowerASCII(s[si])) {
					pi++
					si++
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		mark += charLen(s[mark:])
		// When the star is followed by an ASCII literal, jump straight to
		// its next occurrence instead of retrying one character at a time.
		// An ASCII byte is always a whole character, so mark stays on a
		// character boundary.
		if star+1 < len(p) {
			if c := p[star+1]; c < utf8.RuneSelf && c != '*' && c != '?' && !(fold && isLetter(c)) {
				i := strings.IndexByte(s[mark:], c)
				if i < 0 {
					return false
				}
				mark += i
			}
		}
		pi, si = star+1, mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func charLen(s string) int {
	if s[0] < utf8.RuneSelf {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s)
	return n
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] && lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool {
	c = lowerASCII(c)
	return 'a' <= c && c <= 'z'
}
