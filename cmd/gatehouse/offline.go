package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

// readPolicies reads .cedar files (or every .cedar file of a directory), naming each policy as
// `apply` does: its @id("...") annotation, else the file name (file.N when a file holds
// several).
func readPolicies(paths []string) ([]apply.PolicyFile, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		m, _ := filepath.Glob(filepath.Join(p, "*.cedar"))
		sort.Strings(m)
		files = append(files, m...)
	}
	out, err := apply.ReadPolicyFiles(files, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no policies found")
	}
	return out, nil
}

func readSchema(path string) (*policy.Schema, error) {
	b, err := apply.ReadFile(path, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	s, err := policy.ParseSchema([]byte(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func readEntities(path string) (types.EntityMap, error) {
	em := types.EntityMap{}
	if path == "" {
		return em, nil
	}
	b, err := apply.ReadFile(path, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(b), &em); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return em, nil
}

func newValidateCommand() *cobra.Command {
	var schemaPath string
	cmd := &cobra.Command{
		Use:   "validate --schema FILE POLICY_FILE_OR_DIR...",
		Short: "Validate Cedar policies against a schema (STRICT mode), offline",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sch, err := readSchema(schemaPath)
			if err != nil {
				return err
			}
			pols, err := readPolicies(args)
			if err != nil {
				return err
			}
			failed := 0
			for _, p := range pols {
				if err := sch.Validate(p.Name, p.Policy); err != nil {
					failed++
					pos := p.Policy.Position()
					fmt.Fprintf(cmd.OutOrStdout(), "%s:%d:%d: %v\n", p.File, pos.Line, pos.Column, err)
				}
			}
			if failed > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%d of %d policies failed validation\n", failed, len(pols))
				return exitCode(1)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d policies valid\n", len(pols))
			return nil
		},
	}
	cmd.Flags().StringVar(&schemaPath, "schema", "", "schema file (.cedarschema or Cedar JSON)")
	_ = cmd.MarkFlagRequired("schema")
	return cmd
}

func parseUIDFlag(name, v string) (types.EntityUID, error) {
	var uid types.EntityUID
	if err := uid.UnmarshalCedar([]byte(v)); err != nil {
		return uid, fmt.Errorf("--%s %q: want an entity like Type::\"id\": %w", name, v, err)
	}
	return uid, nil
}

func newAuthorizeCommand() *cobra.Command {
	var (
		principal, action, resource string
		contextPath, entitiesPath   string
		schemaPath, output          string
	)
	cmd := &cobra.Command{
		Use:   "authorize --principal P --action A --resource R POLICY_FILE_OR_DIR...",
		Short: "Decide one request against policy and entity files, offline (exit 0 allow, 2 deny)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pols, err := readPolicies(args)
			if err != nil {
				return err
			}
			ents, err := readEntities(entitiesPath)
			if err != nil {
				return err
			}
			if schemaPath != "" {
				sch, err := readSchema(schemaPath)
				if err != nil {
					return err
				}
				for _, a := range sch.Actions() {
					if _, ok := ents[a.UID]; !ok {
						ents[a.UID] = a
					}
				}
			}
			req := cedar.Request{Context: types.NewRecord(nil)}
			if req.Principal, err = parseUIDFlag("principal", principal); err != nil {
				return err
			}
			if req.Action, err = parseUIDFlag("action", action); err != nil {
				return err
			}
			if req.Resource, err = parseUIDFlag("resource", resource); err != nil {
				return err
			}
			if contextPath != "" {
				b, err := apply.ReadFile(contextPath, os.LookupEnv)
				if err != nil {
					return err
				}
				if err := json.Unmarshal([]byte(b), &req.Context); err != nil {
					return fmt.Errorf("%s: %w", contextPath, err)
				}
			}
			in := engine.Input{Entities: ents}
			for _, p := range pols {
				in.Policies = append(in.Policies, engine.Policy{ID: p.Name, Policy: p.Policy})
			}
			snap, err := engine.Build(in)
			if err != nil {
				return err
			}
			res := snap.Authorize(req, nil)
			if err := printDecision(cmd.OutOrStdout(), output, res); err != nil {
				return err
			}
			if res.Decision != cedar.Allow {
				return exitCode(2)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&principal, "principal", "", `principal entity, e.g. 'PetStore::User::"alice"'`)
	f.StringVar(&action, "action", "", `action entity, e.g. 'PetStore::Action::"get /pets"'`)
	f.StringVar(&resource, "resource", "", "resource entity")
	f.StringVar(&contextPath, "context", "", "context JSON file (a Cedar record)")
	f.StringVar(&entitiesPath, "entities", "", "entities JSON file (Cedar entity format)")
	f.StringVar(&schemaPath, "schema", "", "schema file; its action hierarchy is used")
	f.StringVarP(&output, "output", "o", "text", "text or json")
	for _, n := range []string{"principal", "action", "resource"} {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}

func printDecision(w io.Writer, format string, res engine.Result) error {
	decision := "DENY"
	if res.Decision == cedar.Allow {
		decision = "ALLOW"
	}
	if format == "json" {
		type perr struct {
			PolicyID string `json:"policyId"`
			Message  string `json:"message"`
		}
		out := struct {
			Decision            string   `json:"decision"`
			DeterminingPolicies []string `json:"determiningPolicies"`
			Errors              []perr   `json:"errors"`
		}{Decision: decision, DeterminingPolicies: res.DeterminingPolicies, Errors: []perr{}}
		if out.DeterminingPolicies == nil {
			out.DeterminingPolicies = []string{}
		}
		for _, e := range res.Errors {
			out.Errors = append(out.Errors, perr{e.PolicyID, e.Message})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintln(w, decision)
	for _, p := range res.DeterminingPolicies {
		fmt.Fprintf(w, "  determined by: %s\n", p)
	}
	for _, e := range res.Errors {
		fmt.Fprintf(w, "  error in %s: %s\n", e.PolicyID, e.Message)
	}
	return nil
}
