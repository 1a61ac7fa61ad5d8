package jsonscan

import (
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// TestStandardLibraryOnly: the domain package imports jsonscan, so
// jsonscan must stay a leaf that imports nothing of the project.
func TestStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, ".") && dep != "github.com/contactgraph/contactgraph/internal/jsonscan" {
			t.Errorf("jsonscan depends on %s", dep)
		}
	}
}

// FuzzObject: on valid JSON, Object and Array give what encoding/json
// gives for an object's members (in order, with repeats) and an array's
// elements.
func FuzzObject(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, ` { "a" : 1 , "b":[true,false,null], "a":{"x":"}\"]"} } `,
		`{"\u0069d":"x","emoji":"\ud83d\ude00","n":-0.5e-3}`, `[1,"two",[3],{"4":4}]`, `"str"`, `12`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		if !json.Valid(v) {
			return
		}
		var whole any
		json.Unmarshal(v, &whole)
		var names []string
		var values []any
		isObj := Object(v, func(name string, value []byte) bool {
			var x any
			if err := json.Unmarshal(value, &x); err != nil {
				t.Fatalf("member %q of %s: value %q is not JSON: %v", name, v, value, err)
			}
			names, values = append(names, name), append(values, x)
			return true
		})
		if obj, ok := whole.(map[string]any); ok != isObj {
			t.Fatalf("Object(%s) = %v", v, isObj)
		} else if ok {
			// The last of repeated names is what encoding/json keeps.
			last := map[string]any{}
			for i, n := range names {
				last[n] = values[i]
			}
			if !reflect.DeepEqual(last, obj) {
				t.Fatalf("Object(%s): members %v, encoding/json %v", v, last, obj)
			}
		}
		var elems []any
		isArr := Array(v, func(elem []byte) bool {
			var x any
			if err := json.Unmarshal(elem, &x); err != nil {
				t.Fatalf("element of %s: %q is not JSON: %v", v, elem, err)
			}
			elems = append(elems, x)
			return true
		})
		if arr, ok := whole.([]any); ok != isArr {
			t.Fatalf("Array(%s) = %v", v, isArr)
		} else if ok && !reflect.DeepEqual(elems, arr) && !(len(elems) == 0 && len(arr) == 0) {
			t.Fatalf("Array(%s): %v, encoding/json %v", v, elems, arr)
		}
	})
}
