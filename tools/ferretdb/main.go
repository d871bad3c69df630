//go:build tools

// FerretDB v1.24.2 for the MongoDB tests, built by tools/go-tool.ts with
//
//	go build -o <bin> github.com/FerretDB/FerretDB/cmd/ferretdb
//
// in this directory. Built under this module (not FerretDB's own), FerretDB's
// build/version skips the check that makes a plain `go install` panic ("Invalid
// build/version/version.txt"): that check only runs when the main module is FerretDB.
// Unlike the embeddable package (github.com/FerretDB/FerretDB/ferretdb), the command
// keeps every flag the tests need: --debug-addr, --telemetry, and the SCRAM users of
// --test-enable-new-auth --setup-username --setup-password.
//
// This file only pins the dependency for `go mod tidy` (the tools build tag keeps it out
// of every build).
package main

import _ "github.com/FerretDB/FerretDB/cmd/ferretdb"
