// launcher: runs its arguments with os/exec, as a Go program that starts another one does, and
// prints the error Go returns (e.g. "fork/exec /goci/app: exec format error") the way callers log it.
package main

import (
	"fmt"
	"os"
	"os/exec"
)

func main() {
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
