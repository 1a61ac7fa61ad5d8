// Package odata parses the OData query options of list requests into the
// domain's types: $filter into a contactgraph.Expr tree, $orderby into sort
// keys and directory $search into HasWord conditions.
//
// The grammar is the subset of OData 4.01 that Graph's contact and
// directory lists accept, read in three steps, each tested on its own: a
// lexer (tokens with their byte offsets: identifiers, quoted strings with
// a quote doubled inside, GUIDs, date-times and dates as OData literals,
// numbers, punctuation), a precedence parser (or < and < not < comparison, with
// parentheses), and a check of every node against the resource's property
// schema (contactgraph.Property.Filter, Members, Sortable), which is the only
// source of what is allowed. Keywords and function names are matched
// without regard to case (eq, EQ; startswith, startsWith); property names
// exactly, or else without regard to case, as Graph does.
//
// Errors are *Error values. Their Unwrap gives a *contactgraph.Error with
// code EInvalid for text that does not parse or type-check, and
// EInvalidFilter for a well-formed expression that uses a property,
// operator or function the resource does not support; the HTTP layer
// words them for its API family.
//
// Limits bound the work a request can cause: MaxLength bytes of text,
// MaxNodes nodes, MaxDepth levels of nesting, MaxIn values in one "in".
package odata
