package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/lambdaauth"
)

// Settings of the lambda command only (docs/lambda.md). Lambda functions are configured
// through environment variables, so each has one; the flags are for running it by hand.
const (
	envBundle          = "GATEHOUSE_BUNDLE"
	envSimpleResponses = "GATEHOUSE_LAMBDA_SIMPLE_RESPONSES"
	envCognitoEndpoint = "GATEHOUSE_COGNITO_ENDPOINT"
	envRuntimeAPI      = "AWS_LAMBDA_RUNTIME_API"
)

func newLambdaCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lambda",
		Short: "Run as an AWS Lambda authorizer deciding with a read-only bundle directory",
		Long: `Run in the AWS Lambda Runtime API loop (AWS_LAMBDA_RUNTIME_API) and answer API Gateway
REST REQUEST and TOKEN authorizer events and HTTP API payload 2.0 authorizer events with the
gateway's decision. The state is the apply directory in GATEHOUSE_BUNDLE (or --bundle), loaded
once per cold start into memory; nothing is written. See docs/lambda.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := lambdaHandler(cmd)
			if err != nil {
				return err
			}
			// Never returns: the loop serves invocations until Lambda ends the process.
			lambda.StartWithOptions(h, lambda.WithContext(cmd.Context()))
			return nil
		},
	}
	addSettingFlags(cmd, "region", "logFormat", "logLevel", "cacheMemory")
	cmd.Flags().String("bundle", "", "apply directory holding the whole state (env "+envBundle+")")
	cmd.Flags().Bool("simple-responses", false, "answer HTTP API payload 2.0 events with {isAuthorized, context} (env "+envSimpleResponses+")")
	cmd.Flags().String("cognito-endpoint", "", "issuer base of Cognito pools instead of AWS, for an emulator (env "+envCognitoEndpoint+")")
	return cmd
}

// bootstrapArgs returns the arguments of a binary started by a Lambda provided runtime
// (provided.al2023), which runs the file named bootstrap without arguments: the lambda command.
// nil means the command line stands.
func bootstrapArgs(argv0 string, args []string) []string {
	if filepath.Base(argv0) == "bootstrap" && len(args) == 0 {
		return []string{"lambda"}
	}
	return nil
}

// lambdaHandler loads the settings and the bundle and returns the handler to run.
func lambdaHandler(cmd *cobra.Command) (*lambdaauth.Handler, error) {
	start := time.Now()
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	str := func(flag, env string) string {
		if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
			return f.Value.String()
		}
		return os.Getenv(env)
	}
	bundle := str("bundle", envBundle)
	if bundle == "" {
		return nil, errors.New(envBundle + " (or --bundle) must name the apply directory to decide with")
	}
	if os.Getenv(envRuntimeAPI) == "" {
		return nil, errors.New(envRuntimeAPI + " is not set: gatehouse lambda runs inside AWS Lambda (or an emulator of its Runtime API)")
	}
	simple := false
	if s := str("simple-responses", envSimpleResponses); s != "" {
		if simple, err = strconv.ParseBool(s); err != nil {
			return nil, errors.New(envSimpleResponses + ": want true or false")
		}
	}
	var opts app.CoreOptions
	if ep := str("cognito-endpoint", envCognitoEndpoint); ep != "" {
		opts.CognitoEndpoint = func(context.Context, string) string { return ep }
	}
	logger := newLogger(cmd.ErrOrStderr(), cfg)
	core, err := app.NewReadOnly(cmd.Context(), cfg, logger, bundle, os.LookupEnv, opts)
	if err != nil {
		return nil, err
	}
	logger.Info("gatehouse lambda ready", "version", versionString(), "bundle", bundle, "init", time.Since(start).Round(time.Microsecond))
	return lambdaauth.New(core.Gateway, lambdaauth.Options{SimpleResponses: simple, Logger: logger}), nil
}
