package main

import "fmt"

// contactID is a contact id as contactgraph makes them: 32 characters.
type contactID [32]byte

// idList is a set of contact ids kept without pointers, so that a million
// of them cost the garbage collector of the bench nothing to scan: the
// bench measures in the same process (the client, the floor).
type idList struct {
	ids  []contactID
	seen map[contactID]struct{}
}

// add adds id unless it is there already.
func (l *idList) add(id string) error {
	if len(id) != len(contactID{}) {
		return fmt.Errorf("a contact id of %d characters (%q): the bench expects %d", len(id), id, len(contactID{}))
	}
	k := contactID([]byte(id))
	if l.seen == nil {
		l.seen = map[contactID]struct{}{}
	}
	if _, ok := l.seen[k]; ok {
		return nil
	}
	l.seen[k] = struct{}{}
	l.ids = append(l.ids, k)
	return nil
}

func (l *idList) len() int { return len(l.ids) }

func (l *idList) at(i int) string { return string(l.ids[i][:]) }

// remove removes the id at index i, moving the last one there.
func (l *idList) remove(i int) {
	delete(l.seen, l.ids[i])
	last := len(l.ids) - 1
	l.ids[i] = l.ids[last]
	l.ids = l.ids[:last]
}
