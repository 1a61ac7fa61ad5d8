package client

import (
	"encoding/json"
	"maps"
	"strings"
	"sync"
)

// MapMirror is an in-memory Mirror: id -> the object's properties. Items
// replace the object they name, except when Merge is set (rounds with
// Prefer: return=minimal), where the properties an item carries are merged
// into the object. It is safe for concurrent use.
type MapMirror struct {
	Merge bool

	mu      sync.Mutex
	objects map[string]map[string]json.RawMessage
}

// Reset implements Mirror.
func (m *MapMirror) Reset() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects = map[string]map[string]json.RawMessage{}
	return nil
}

// Apply implements Mirror. Annotations (@odata.*) are not kept.
func (m *MapMirror) Apply(it Item) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objects == nil {
		m.objects = map[string]map[string]json.RawMessage{}
	}
	if it.Removed != "" {
		delete(m.objects, it.ID)
		return nil
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(it.Raw, &props); err != nil {
		return err
	}
	for k := range props {
		if strings.Contains(k, "@") {
			delete(props, k)
		}
	}
	if cur, ok := m.objects[it.ID]; ok && m.Merge {
		maps.Copy(cur, props)
		return nil
	}
	m.objects[it.ID] = props
	return nil
}

// Len returns the number of objects.
func (m *MapMirror) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.objects)
}

// Get returns a copy of an object's properties.
func (m *MapMirror) Get(id string) (map[string]json.RawMessage, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[id]
	return maps.Clone(o), ok
}

// IDs returns the ids of the objects.
func (m *MapMirror) IDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.objects))
	for id := range m.objects {
		out = append(out, id)
	}
	return out
}

// Snapshot returns a copy of the objects, to save the mirror.
func (m *MapMirror) Snapshot() map[string]map[string]json.RawMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]map[string]json.RawMessage, len(m.objects))
	for id, o := range m.objects {
		out[id] = maps.Clone(o)
	}
	return out
}

// Restore replaces the objects with a saved snapshot.
func (m *MapMirror) Restore(objects map[string]map[string]json.RawMessage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects = make(map[string]map[string]json.RawMessage, len(objects))
	for id, o := range objects {
		m.objects[id] = maps.Clone(o)
	}
}
