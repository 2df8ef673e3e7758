package main

import (
	"fmt"
	"net/http"

	_ "github.com/lib/pq"
)

var version = "dev"

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, version) })
	_ = http.ListenAndServe(":8080", nil)
}
