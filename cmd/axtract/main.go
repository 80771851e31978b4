// Command axtract delivers partner data feeds from a PostgreSQL data mart.
package main

import (
	"context"
	"os"

	"github.com/axtract/axtract/internal/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
