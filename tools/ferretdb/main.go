//go:build tools

// FerretDB v1.24.2, the MongoDB tests' server, built by tools/go-tool.ts (FERRETDB in
// tools/ferretdb-server.ts): this module is copied to a scratch directory, its dependencies
// vendored (`go mod vendor`), vendor/github.com/FerretDB/FerretDB/build/version/version.txt
// written, and `go build -mod=vendor github.com/FerretDB/FerretDB/cmd/ferretdb` run.
//
// Why not `go install .../cmd/ferretdb@v1.24.2`: FerretDB's build/version panics at start
// ("Invalid build/version/version.txt") when its main module is FerretDB and that generated
// file is absent, which it is from the module proxy's copy. Why not a launcher around the
// embeddable package github.com/FerretDB/FerretDB/ferretdb: its Config has no SCRAM users
// (--test-enable-new-auth --setup-username), which the wrong-credentials test needs.
//
// This file only pins the dependency for `go mod tidy`; the tools build tag keeps it out of
// every build.
package main

import _ "github.com/FerretDB/FerretDB/cmd/ferretdb"
