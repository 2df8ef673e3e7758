#!/bin/sh
set -eu
export CGO_ENABLED=1
go build -trimpath \
  -ldflags "-s -w" \
  -o bin/app ./cmd/app
