// Package jsonerr turns encoding/json errors into errors naming the line
// and column of the offending input.
package jsonerr

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Locate prefixes err with "line L column C" when it is a syntax or type
// error of encoding/json about data; other errors are returned unchanged.
func Locate(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	line, col := 1, 1
	for _, c := range data[:max(off-1, 0)] { // Offset is just past the offending byte
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("line %d column %d: %w", line, col, err)
}
