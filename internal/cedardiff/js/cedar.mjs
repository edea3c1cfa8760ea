// Reference answers from Rust Cedar (@cedar-policy/cedar-wasm) for Gatehouse's differential
// test: reads a JSON array of cases from the file named by argv[2] and prints a JSON array of
// answers, one per case, in order.
import { readFileSync } from "node:fs";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
// Schemas and policy sets repeat across cases; Cedar parses each once.
const parsed = new Map();
function preparse(kind, text, parse) {
  const key = kind + "\0" + text;
  if (!parsed.has(key)) {
    const name = kind + parsed.size;
    const r = parse(name);
    if (r.type !== "success") throw new Error(`${kind} does not parse: ${JSON.stringify(r.errors)}`);
    parsed.set(key, name);
  }
  return parsed.get(key);
}
const answers = cases.map((c) => {
  const call = {
    principal: c.principal, action: c.action, resource: c.resource, context: c.context,
    entities: c.entities, validateRequest: true,
    preparsedPolicySetId: preparse("policies", JSON.stringify(c.policies),
      (id) => cedar.preparsePolicySet(id, { staticPolicies: c.policies })),
  };
  if (c.schema) call.preparsedSchemaName = preparse("schema", c.schema, (id) => cedar.preparseSchema(id, c.schema));
  const a = cedar.statefulIsAuthorized(call);
  if (a.type !== "success") {
    return { rejected: true, messages: a.errors.map((e) => e.message) };
  }
  const d = a.response.diagnostics;
  return {
    decision: a.response.decision,
    reasons: [...d.reason].sort(),
    errorPolicies: [...new Set(d.errors.map((e) => e.policyId))].sort(),
  };
});
process.stdout.write(JSON.stringify({ cedarVersion: cedar.getCedarVersion(), answers }));
