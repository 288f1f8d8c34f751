// Package nats stands in for the real module: depguard reads only import paths.
package nats
