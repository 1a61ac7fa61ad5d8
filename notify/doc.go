// Package notify matches writes to change-notification subscriptions and
// delivers them; this file set holds rich-notification encryption.
package notify
