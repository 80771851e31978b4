package format

import (
	"bytes"
	"errors"
	"fmt"
)

// Array is an array value parsed from PostgreSQL's text form, such as
// {a,"b c",NULL} or {{1,2},{3,4}}. Reuse one Array for every row: Parse
// keeps its buffers, so parsing allocates nothing once they have grown.
type Array struct {
	// Dims holds the length of each dimension, outermost first; an empty
	// array has none.
	Dims []int
	// Elements holds the elements in row-major order, unquoted and
	// unescaped. A nil element is NULL. The slices are valid until the
	// next Parse.
	Elements [][]byte

	buf []byte
}

// Parse parses b, the text of an array whose elements are separated by
// commas (every built-in type but box). A leading dimension decoration
// such as [0:1]= is skipped.
func (a *Array) Parse(b []byte) error {
	a.Dims = a.Dims[:0]
	a.Elements = a.Elements[:0]
	if cap(a.buf) < len(b) {
		a.buf = make([]byte, 0, len(b))
	}
	a.buf = a.buf[:0]

	if len(b) > 0 && b[0] == '[' {
		eq := bytes.IndexByte(b, '=')
		if eq < 0 {
			return errArraySyntax
		}
		b = b[eq+1:]
	}
	p := arrayParser{a: a, in: b}
	if err := p.value(0); err != nil {
		return fmt.Errorf("parse array: %w", err)
	}
	if p.pos != len(p.in) {
		return fmt.Errorf("parse array: %w", errArraySyntax)
	}
	return nil
}

var errArraySyntax = errors.New("invalid array syntax")

type arrayParser struct {
	a   *Array
	in  []byte
	pos int
}

// value parses one brace-enclosed level at depth.
func (p *arrayParser) value(depth int) error {
	if p.pos >= len(p.in) || p.in[p.pos] != '{' {
		return errArraySyntax
	}
	p.pos++
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
		if depth > 0 {
			// PostgreSQL never prints an empty inner array.
			return errArraySyntax
		}
		return nil
	}

	count := 0
	for {
		if p.pos >= len(p.in) {
			return errArraySyntax
		}
		var err error
		if p.in[p.pos] == '{' {
			if len(p.a.Dims) > 0 && depth+1 >= len(p.a.Dims) {
				return errMixedLevels
			}
			err = p.value(depth + 1)
		} else {
			err = p.element(depth)
		}
		if err != nil {
			return err
		}
		count++
		if p.pos >= len(p.in) {
			return errArraySyntax
		}
		c := p.in[p.pos]
		p.pos++
		if c == '}' {
			break
		}
		if c != ',' {
			return errArraySyntax
		}
	}
	return p.setDim(depth, count)
}

// setDim records the length of a level. The innermost level ends first,
// so the number of dimensions is fixed by the first element and each
// length by the first level of its depth that ends.
func (p *arrayParser) setDim(depth, count int) error {
	a := p.a
	switch {
	case depth >= len(a.Dims):
		return errArraySyntax
	case a.Dims[depth] < 0:
		a.Dims[depth] = count
	case a.Dims[depth] != count:
		return errors.New("invalid array: sub-arrays of different lengths")
	}
	return nil
}

var errMixedLevels = errors.New("invalid array: elements and sub-arrays at one level")

// element parses one element, quoted or not, at the innermost depth.
func (p *arrayParser) element(depth int) error {
	a := p.a
	if len(a.Dims) == 0 {
		for range depth + 1 {
			a.Dims = append(a.Dims, -1)
		}
	} else if depth != len(a.Dims)-1 {
		return errMixedLevels
	}
	in := p.in
	start := len(a.buf)
	if in[p.pos] == '"' {
		p.pos++
		for {
			if p.pos >= len(in) {
				return errArraySyntax
			}
			c := in[p.pos]
			p.pos++
			if c == '"' {
				break
			}
			if c == '\\' {
				if p.pos >= len(in) {
					return errArraySyntax
				}
				c = in[p.pos]
				p.pos++
			}
			a.buf = append(a.buf, c)
		}
		a.Elements = append(a.Elements, a.buf[start:len(a.buf):len(a.buf)])
		return nil
	}

	end := p.pos
	for end < len(in) && in[end] != ',' && in[end] != '}' {
		if in[end] == '"' || in[end] == '{' || in[end] == '\\' {
			return errArraySyntax
		}
		end++
	}
	raw := in[p.pos:end]
	p.pos = end
	if len(raw) == 0 {
		return errArraySyntax
	}
	if string(raw) == "NULL" {
		a.Elements = append(a.Elements, nil)
		return nil
	}
	a.Elements = append(a.Elements, raw[:len(raw):len(raw)])
	return nil
}
