// Package uuid stands in for the real module: depguard reads only import paths.
package uuid
