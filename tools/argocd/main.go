// A minimal Argo CD for the local world: the application controller, the repo-server and a
// Redis, which is all an Application with a git source needs (no argocd-server, UI, Dex or
// ApplicationSet controller). Upstream's multicall binary picks its command from argv[0];
// here the first argument does, so one cached file serves all three processes.
//
//	argocd controller [flags]    appcontroller.NewCommand(), upstream's argocd-application-controller
//	argocd repo-server [flags]   reposerver.NewCommand(), upstream's argocd-repo-server
//	argocd redis ADDR            miniredis (already in argo-cd's module graph) on ADDR
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	appcontroller "github.com/argoproj/argo-cd/v3/cmd/argocd-application-controller/commands"
	reposerver "github.com/argoproj/argo-cd/v3/cmd/argocd-repo-server/commands"
	"github.com/spf13/cobra"
)

const usage = "usage: argocd controller|repo-server [flags] | argocd redis ADDR"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var command *cobra.Command
	switch os.Args[1] {
	case "controller":
		command = appcontroller.NewCommand()
	case "repo-server":
		command = reposerver.NewCommand()
	case "redis":
		if len(os.Args) != 3 {
			fmt.Fprintln(os.Stderr, usage)
			os.Exit(2)
		}
		if err := serveRedis(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	command.SetArgs(os.Args[2:])
	if err := command.Execute(); err != nil {
		os.Exit(1)
	}
}

// serveRedis runs miniredis until SIGTERM or SIGINT. miniredis keeps its own clock for
// key expiry and never advances it by itself: without the ticker Argo CD's cached
// manifests and ref lookups would never expire.
func serveRedis(addr string) error {
	server := miniredis.NewMiniRedis()
	if err := server.StartAddr(addr); err != nil {
		return fmt.Errorf("redis on %s: %w", addr, err)
	}
	defer server.Close()
	fmt.Printf("redis listening on %s\n", server.Addr())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			server.FastForward(time.Second)
		case <-stop:
			return nil
		}
	}
}
