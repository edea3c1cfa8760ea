// Command gatehouse is the Gatehouse binary: the gateway, the management API, the built-in
// identity provider and the offline tools, selected by subcommand.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCommand()
	if args := bootstrapArgs(os.Args[0], os.Args[1:]); args != nil {
		root.SetArgs(args)
	}
	if err := root.ExecuteContext(ctx); err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			os.Exit(int(ec))
		}
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(1)
	}
}

// exitCode ends the process with a status after the command printed its own output.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "Unified API authorization: tokens, Cedar and IAM policies, gateway, built-in IdP",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(
		newServeCommand(),
		newVersionCommand(),
		newCredentialsCommand(),
		newValidateCommand(),
		newAuthorizeCommand(),
		newApplyCommand(),
		newPlanCommand(),
		newIdPCommand(),
		newInitCommand(), newAccessMatrixCommand(), newAccessCommand(),
		newDemoCommand(),
		newAuditCommand(),
		newLambdaCommand(),
	)
	return root
}
