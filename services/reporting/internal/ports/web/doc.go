// Package web is reporting's HTTP port: the dashboard page, its figures as JSON and a
// health check, read through the same queries as the gRPC API.
package web
