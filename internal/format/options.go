package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// DecodeOptions decodes a feed's format_options, or an object nested in
// them, into dst, a pointer to a struct whose fields carry json tags. A
// key dst has no field for is rejected with an error that names it and
// lists the valid keys, so a misspelt option fails when the format is made
// instead of being ignored. what names the object in errors, such as
// "delimited format options". Empty or null options leave dst unchanged,
// so callers set defaults first.
func DecodeOptions(what string, raw json.RawMessage, dst any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return fmt.Errorf("invalid %s: %w", what, err)
	}
	valid := optionKeys(dst)
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !contains(valid, k) {
			return fmt.Errorf("invalid %s: unknown option %q; valid options are %s", what, k, strings.Join(valid, ", "))
		}
	}
	for _, k := range names {
		one, _ := json.Marshal(map[string]json.RawMessage{k: keys[k]})
		if err := json.Unmarshal(one, dst); err != nil {
			return fmt.Errorf("invalid %s: option %q: %w", what, k, describeJSONError(err))
		}
	}
	return nil
}

// describeJSONError shortens encoding/json's type errors, which name Go
// types, to the JSON type the option expects.
func describeJSONError(err error) error {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		return fmt.Errorf("expected a JSON %s, got a %s", jsonKind(te.Type), te.Value)
	}
	return err
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "object"
}

// optionKeys lists the json names of the fields of the struct dst points
// to, sorted.
func optionKeys(dst any) []string {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
