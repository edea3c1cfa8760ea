package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/cedar-policy/cedar-go/types"
	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
)

func newAccessCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "access",
		Short: "Ask a running node what a principal may access",
		Long: `access answers questions Verified Permissions cannot: which actions a principal may take on
a resource, and on which resources of a type it may take an action. Every answer is made of
ordinary decisions of the store's policies and entities (with --entities and --context as in
IsAuthorized), so it never disagrees with the decision it predicts. For resources that are not
stored, "resources" prints the residual policies: the conditions such a resource must meet.`,
	}
	cmd.AddCommand(newAccessActionsCommand(), newAccessResourcesCommand(), newAccessRoutesCommand())
	return cmd
}

func newAccessActionsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   `actions --store ID --principal 'Type::"id"' --resource 'Type::"id"'`,
		Short: "List the actions a principal may take on a resource",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := avpapi.ListAllowedActionsInput{}
			var err error
			if in.PolicyStoreID, err = cmd.Flags().GetString("store"); err != nil || in.PolicyStoreID == "" {
				return fmt.Errorf("--store is required")
			}
			if in.Principal, err = entityFlag(cmd, "principal"); err != nil {
				return err
			}
			if in.Resource, err = entityFlag(cmd, "resource"); err != nil {
				return err
			}
			if in.Context, in.Entities, err = requestExtras(cmd); err != nil {
				return err
			}
			in.IncludeDenied, _ = cmd.Flags().GetBool("all")
			c, err := managementClient(cmd)
			if err != nil {
				return err
			}
			var out avpapi.ListAllowedActionsOutput
			if err := c.Call(cmd.Context(), "Gatehouse.ListAllowedActions", in, &out); err != nil {
				return err
			}
			if format, _ := cmd.Flags().GetString("output"); format == "json" {
				return writeJSON(cmd, out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ACTION\tDECISION\tDETERMINING POLICIES")
			for _, a := range out.Actions {
				fmt.Fprintf(tw, "%s::%q\t%s\t%s\n", a.Action.ActionType, a.Action.ActionID, a.Decision, policyIDs(a.DeterminingPolicies))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(out.AnyActionPolicies) > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "note: the store has no schema and policies %s permit any action; actions named nowhere may be allowed too\n",
					strings.Join(out.AnyActionPolicies, ", "))
			}
			return nil
		},
	}
	cmd.Flags().String("store", "", "policy store id")
	cmd.Flags().String("principal", "", `principal entity, e.g. PetStore::User::"alice"`)
	cmd.Flags().String("resource", "", `resource entity, e.g. PetStore::Application::"petstore"`)
	cmd.Flags().Bool("all", false, "list denied actions too")
	addRequestFlags(cmd)
	return cmd
}

func newAccessResourcesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   `resources --store ID --principal 'Type::"id"' --action 'NS::Action::"id"' --type TYPE`,
		Short: "List the resources of a type on which a principal may take an action",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := avpapi.ListAllowedResourcesInput{}
			var err error
			if in.PolicyStoreID, err = cmd.Flags().GetString("store"); err != nil || in.PolicyStoreID == "" {
				return fmt.Errorf("--store is required")
			}
			if in.Principal, err = entityFlag(cmd, "principal"); err != nil {
				return err
			}
			act, err := entityFlag(cmd, "action")
			if err != nil {
				return err
			}
			in.Action = &avpapi.ActionIdentifier{ActionType: act.EntityType, ActionID: act.EntityID}
			if in.ResourceType, _ = cmd.Flags().GetString("type"); in.ResourceType == "" {
				return fmt.Errorf("--type is required")
			}
			if in.Context, in.Entities, err = requestExtras(cmd); err != nil {
				return err
			}
			c, err := managementClient(cmd)
			if err != nil {
				return err
			}
			var out avpapi.ListAllowedResourcesOutput
			if err := c.Call(cmd.Context(), "Gatehouse.ListAllowedResources", in, &out); err != nil {
				return err
			}
			if format, _ := cmd.Flags().GetString("output"); format == "json" {
				return writeJSON(cmd, out)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "stored %s entities allowed: %d of %d\n", in.ResourceType, len(out.Resources), out.ResourcesChecked)
			for _, r := range out.Resources {
				fmt.Fprintf(w, "  %s::%q\t(%s)\n", r.Resource.EntityType, r.Resource.EntityID, policyIDs(r.DeterminingPolicies))
			}
			if len(out.ResidualPolicies) == 0 {
				fmt.Fprintf(w, "any other %s: denied (no policy can apply)\n", in.ResourceType)
				return nil
			}
			fmt.Fprintf(w, "any other %s: allowed when a permit below holds and no forbid does\n", in.ResourceType)
			for _, r := range out.ResidualPolicies {
				fmt.Fprintf(w, "  -- %s\n  %s\n", r.PolicyID, strings.ReplaceAll(r.Policy, "\n", "\n  "))
			}
			return nil
		},
	}
	cmd.Flags().String("store", "", "policy store id")
	cmd.Flags().String("principal", "", `principal entity, e.g. PetStore::User::"alice"`)
	cmd.Flags().String("action", "", `action, e.g. PetStore::Action::"get /pets"`)
	cmd.Flags().String("type", "", "resource entity type, e.g. PetStore::Pet")
	addRequestFlags(cmd)
	return cmd
}

func newAccessRoutesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "routes --api NAME [--token TOKEN] [--param NAME=VALUE]...",
		Short: "List the routes of an API a token may call, as the gateway decides them",
		Long: `routes decides, for every route of an API, a request carrying the token (GATEHOUSE_TOKEN when
--token is not given) through the gateway's own decision: the answer is what a client with that
token would get. Path parameters without a --param value are given the placeholder "x"; a
cedar or iam route may decide other values otherwise, and such rows say so.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := avpapi.ListAllowedRoutesInput{PathParameters: map[string]string{}}
			in.API, _ = cmd.Flags().GetString("api")
			if in.API == "" {
				return fmt.Errorf("--api is required")
			}
			if in.Token, _ = cmd.Flags().GetString("token"); in.Token == "" {
				in.Token = os.Getenv("GATEHOUSE_TOKEN")
			}
			params, _ := cmd.Flags().GetStringArray("param")
			for _, p := range params {
				k, v, ok := strings.Cut(p, "=")
				if !ok || k == "" {
					return fmt.Errorf("--param %q: want NAME=VALUE", p)
				}
				in.PathParameters[k] = v
			}
			c, err := managementClient(cmd)
			if err != nil {
				return err
			}
			var out avpapi.ListAllowedRoutesOutput
			if err := c.Call(cmd.Context(), "Gatehouse.ListAllowedRoutes", in, &out); err != nil {
				return err
			}
			if format, _ := cmd.Flags().GetString("output"); format == "json" {
				return writeJSON(cmd, out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "METHOD\tROUTE\tDECISION\tNOTE")
			for _, r := range out.Routes {
				decision := "ALLOW"
				if !r.Allowed {
					decision = fmt.Sprintf("DENY %d %s", r.Status, r.Reason)
				}
				note := ""
				if len(r.Assumed) > 0 {
					note = "assumed " + strings.Join(r.Assumed, ", ") + "=x"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Method, r.Route, decision, note)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().String("api", "", "API name")
	cmd.Flags().String("token", "", "bearer token (default $GATEHOUSE_TOKEN)")
	cmd.Flags().StringArray("param", nil, "path parameter value, NAME=VALUE (repeatable)")
	cmd.Flags().StringP("output", "o", "text", "text or json")
	addClientFlags(cmd)
	return cmd
}

func addRequestFlags(cmd *cobra.Command) {
	cmd.Flags().String("context", "", `context as Cedar JSON, e.g. {"mfa": true}`)
	cmd.Flags().String("entities", "", "entities as a Cedar JSON array (they take precedence over stored ones)")
	cmd.Flags().StringP("output", "o", "text", "text or json")
	addClientFlags(cmd)
}

// entityFlag reads a flag holding a Cedar entity reference (Type::"id").
func entityFlag(cmd *cobra.Command, name string) (*avpapi.EntityIdentifier, error) {
	v, _ := cmd.Flags().GetString(name)
	if v == "" {
		return nil, fmt.Errorf("--%s is required", name)
	}
	var uid types.EntityUID
	if err := uid.UnmarshalCedar([]byte(v)); err != nil {
		return nil, fmt.Errorf(`--%s %q: want a Cedar entity reference such as Type::"id": %v`, name, v, err)
	}
	e := avpapi.EntityIdentifierFrom(uid)
	return &e, nil
}

// requestExtras reads --context and --entities in Cedar's JSON formats; the server checks
// them and names what is wrong.
func requestExtras(cmd *cobra.Command) (*avpapi.ContextDefinition, *avpapi.EntitiesDefinition, error) {
	var (
		ctx  *avpapi.ContextDefinition
		ents *avpapi.EntitiesDefinition
	)
	if v, _ := cmd.Flags().GetString("context"); v != "" {
		ctx = &avpapi.ContextDefinition{CedarJSON: &v}
	}
	if v, _ := cmd.Flags().GetString("entities"); v != "" {
		ents = &avpapi.EntitiesDefinition{CedarJSON: &v}
	}
	return ctx, ents, nil
}

func policyIDs(ps []avpapi.DeterminingPolicyItem) string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.PolicyID
	}
	return strings.Join(ids, ", ")
}

func writeJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
