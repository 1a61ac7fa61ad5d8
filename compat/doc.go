// Package compat holds compatibility tests that drive a contactgraph server
// with the official Microsoft Graph Go SDK.
package compat
