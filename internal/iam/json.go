package iam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// jsonKind is the type of a decoded JSON value.
type jsonKind uint8

const (
	kindString jsonKind = iota
	kindNumber
	kindBool
	kindNull
	kindArray
	kindObject
)

func (k jsonKind) String() string {
	switch k {
	case kindString:
		return "a string"
	case kindNumber:
		return "a number"
	case kindBool:
		return "a boolean"
	case kindNull:
		return "null"
	case kindArray:
		return "a list"
	default:
		return "an object"
	}
}

// jsonNode is a decoded JSON value that, unlike map[string]any, keeps member
// order and lets the decoder reject duplicate keys: encoding/json silently
// keeps the last duplicate, which would let two readers of the same document
// disagree about what it grants.
type jsonNode struct {
	kind    jsonKind
	text    string // string value, number literal, or "true"/"false"
	items   []*jsonNode
	members []jsonMember
}

type jsonMember struct {
	key string
	val *jsonNode
}

// maxDepth bounds nesting. A valid policy nests at most seven containers
// deep (document, Statement list, statement, Condition, operator, key,
// value list); the margin lets the validator report a precise path.
const maxDepth = 10

func decodeJSON(doc []byte) (*jsonNode, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	root, err := decodeValue(dec, "", 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &ParseError{Msg: fmt.Sprintf("unexpected data after the policy document at byte %d", dec.InputOffset())}
	}
	return root, nil
}

func decodeValue(dec *json.Decoder, path string, depth int) (*jsonNode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(dec, err)
	}
	switch t := tok.(type) {
	case string:
		return &jsonNode{kind: kindString, text: t}, nil
	case json.Number:
		return &jsonNode{kind: kindNumber, text: string(t)}, nil
	case bool:
		return &jsonNode{kind: kindBool, text: strconv.FormatBool(t)}, nil
	case nil:
		return &jsonNode{kind: kindNull}, nil
	case json.Delim:
		if depth >= maxDepth {
			return nil, &ParseError{Path: path, Msg: "nested too deeply"}
		}
		if t == '[' {
			n := &jsonNode{kind: kindArray}
			for dec.More() {
				item, err := decodeValue(dec, indexPath(path, len(n.items)), depth+1)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, item)
			}
			if _, err := dec.Token(); err != nil {
				return nil, syntaxError(dec, err)
			}
			return n, nil
		}
		n := &jsonNode{kind: kindObject}
		seen := make(map[string]struct{})
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, syntaxError(dec, err)
			}
			key := tok.(string) // the decoder only yields string keys inside objects
			kp := keyPath(path, key)
			if _, dup := seen[key]; dup {
				return nil, &ParseError{Path: kp, Msg: "duplicate key"}
			}
			seen[key] = struct{}{}
			val, err := decodeValue(dec, kp, depth+1)
			if err != nil {
				return nil, err
			}
			n.members = append(n.members, jsonMember{key: key, val: val})
		}
		if _, err := dec.Token(); err != nil {
			return nil, syntaxError(dec, err)
		}
		return n, nil
	}
	return nil, &ParseError{Path: path, Msg: fmt.Sprintf("unexpected JSON token %v", tok)}
}

func syntaxError(dec *json.Decoder, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &ParseError{Msg: fmt.Sprintf("invalid JSON at byte %d: %v", dec.InputOffset(), err)}
}

func keyPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
